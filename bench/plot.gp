# plot.gp — plots from nnbench's results, called by bench/run, which first
# extracts from the CSV (with awk) into `dir`:
#   dense_b<batch>.dat  width, GFLOP/s of libnn, bare dgemm, naive, naive
#                       reordered (dense layer, 1 thread; NaN = not run)
#   threads.dat         workload, threads, speed-up of libnn and of dgemm at
#                       that many threads over 1 thread
#   gnuplot -e "dir='bench/plots'; batches='1 64 256 1024'" bench/plot.gp
# Writes dir/gflops.svg and dir/threads.svg (term= and ext= to change).
if (!exists('ext')) ext = 'svg'
if (!exists('term')) term = 'svg size 1100,800 dynamic enhanced font "sans,11"'
if (!exists('batches')) batches = '1 64 256 1024'

set terminal @term
set output dir.'/gflops.'.ext
set multiplot layout 2,2 title 'Dense layer forward + backward (relu), 1 thread: GFLOP/s of the products (2 flops per multiply-add)'
set logscale xy 2
set xrange [12:2800]
set xtics (16, 64, 256, 1024, 2048)
set format y '%g'
set xlabel 'width (n_{in} = n_{out})'
set ylabel 'GFLOP/s'
set key bottom right
set grid
do for [b in batches] {
    set title 'batch '.b
    f = dir.'/dense_b'.b.'.dat'
    plot f using 1:2 with linespoints lw 2 pt 7 title 'libnn', \
         f using 1:3 with linespoints lw 2 pt 5 dt 2 title 'bare dgemm', \
         f using 1:4 with points pt 9 ps 1.4 title 'naive i,j,k', \
         f using 1:5 with points pt 11 ps 1.4 title 'naive reordered'
}
unset multiplot

reset
set terminal @term
set output dir.'/threads.'.ext
set title 'Speed at the most threads relative to 1 thread (higher is better; 1 = no gain)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel 'speed-up'
set yrange [0:2.1]
set xtics rotate by -50 scale 0 font ',9'
set grid ytics
set key top left
set bmargin 9
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lc rgb 'black' dt 2
set arrow 2 from graph 0, first 1.8 to graph 1, first 1.8 nohead lc rgb 'red' dt 3
set label 1 'target 1.8 (wide MLP)' at graph 0.75, first 1.86 tc rgb 'red'
plot dir.'/threads.dat' using 3:xtic(1) title 'libnn', '' using 4 title 'bare dgemm'
