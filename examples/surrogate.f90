! surrogate.f90 - a learned right-hand side inside a time-stepping loop,
! trained online from the solver's own arrays (Fortran, `use nn`).
!
! The solver integrates u' = f(u) on N grid cells by explicit Euler,
!   u(:, t+1) = u(:, t) + dt * f(u(:, t)),   f_true(u) = -u + 0.5 sin(3u),
! keeping every state u(:, t) and right-hand side F(:, t) in its arrays.
! For the first T_LEARN steps it uses f_true and, every EVERY steps, trains
! a 1-32-1 network on the last EVERY states: the column u(:, s:s) IS an
! N x 1 batch (N samples, one feature) in column-major order, so train_step
! reads it, and F(:, s:s), in place, without a copy. After that the network
! replaces f_true: each step predicts F(:, t) from u(:, t) in blocks of
! cells, from an OpenMP parallel loop (one network shared read-only, one
! nn_ctx per thread). The same steps with f_true all along give the exact-f
! solution; the program prints the error and exits 0 if it is small.
!
! Build: gfortran -fopenmp surrogate.f90 $(pkg-config --cflags --libs nn-fortran)
!        (without -fopenmp the directives are comments: it runs serially)
! Run:   OMP_NUM_THREADS=4 ./a.out
!
! f has stable zeros u* = +-0.4986 and an unstable one at 0; the cells start
! in +-[0.25, 2], off the unstable point. Learning from the latest states
! only, the network forgets the range the cells have left; what it needs is
! the range they are in when it takes over (|u| in about [0.4, 0.6]), where
! errors in f are damped (f'(u*) = -0.89). Online training on such drifting
! data varies with the seed: the worst error over the run was 2e-4 to 4e-3
! over a dozen seeds, hence the bound of 1e-2 (2% of |u|).
program surrogate
  use, intrinsic :: iso_c_binding, only: c_double, c_int32_t
  use nn
  !$ use omp_lib
  implicit none
  integer, parameter :: dp = c_double
  integer, parameter :: N = 512          ! grid cells: the batch
  integer, parameter :: STEPS = 500      ! Euler steps
  integer, parameter :: T_LEARN = 150    ! steps with f_true, learning online
  integer, parameter :: EVERY = 5        ! train on the last EVERY states ...
  integer, parameter :: REPEAT = 40      ! ... this many times each
  integer, parameter :: BLOCK = 64       ! cells per predict (the ctx's rows)
  real(dp), parameter :: DT = 0.02_dp
  real(dp), allocatable :: u(:, :), F(:, :), u_exact(:)
  type(nn_net) :: net
  type(nn_optim) :: opt
  real(dp) :: err, err_max, loss
  integer :: t, nthreads

  allocate(u(N, 0:STEPS), F(N, 0:STEPS), u_exact(N))
  call initial_state(u(:, 0))
  u_exact = u(:, 0)
  call make_model(net, opt)

  loss = 0
  err_max = 0
  do t = 0, STEPS - 1
    if (t < T_LEARN) then
      F(:, t) = f_true(u(:, t))
      if (mod(t + 1, EVERY) == 0) call learn(net, opt, u, F, t, loss)
    else
      call surrogate_rhs(net, u(:, t), F(:, t), nthreads)
    end if
    u(:, t + 1) = u(:, t) + DT * F(:, t)
    u_exact = u_exact + DT * f_true(u_exact)
    err_max = max(err_max, maxval(abs(u(:, t + 1) - u_exact)))
  end do

  err = maxval(abs(u(:, STEPS) - u_exact))
  print '(a, es10.3, a, i0, a)', 'surrogate: training loss ', loss, &
      ' (last batch), inference on ', nthreads, ' thread(s)'
  print '(a, es10.3, a, es10.3, a, es10.3)', 'surrogate: max |u - u_exact| ', &
      err_max, ' over the run, ', err, ' at the end; max |u_exact| ', &
      maxval(abs(u_exact))
  call opt%destroy()
  call net%destroy()
  if (err_max > 1e-2_dp) error stop 'surrogate: the learned f drifted too far'

contains

  elemental function f_true(v) result(r)
    real(dp), intent(in) :: v
    real(dp) :: r
    r = -v + 0.5_dp * sin(3 * v)
  end function f_true

  ! Cells in +-[0.25, 2], alternating signs, off the unstable zero.
  subroutine initial_state(u0)
    real(dp), intent(out) :: u0(:)
    integer :: i
    do i = 1, size(u0)
      u0(i) = (0.25_dp + 1.75_dp * real(i - 1, dp) / (size(u0) - 1)) * &
          merge(1, -1, mod(i, 2) == 0)
    end do
  end subroutine initial_state

  ! 1 -> 32 tanh -> 1 identity, mean squared error, Adam.
  subroutine make_model(net, opt)
    type(nn_net), intent(inout) :: net
    type(nn_optim), intent(inout) :: opt
    type(nn_netspec) :: spec
    call check(spec%create(1, NN_LOSS_MSE), 'netspec')
    call check(spec%add_dense(32, NN_ACT_TANH), 'hidden layer')
    call check(spec%add_dense(1, NN_ACT_IDENTITY), 'output layer')
    call check(net%create(spec), 'network')
    call spec%destroy()
    call check(net%init(NN_INIT_GLOROT_UNIFORM, 1), 'init')
    call check(opt%create(net, NN_OPTIM_ADAM), 'optimizer')
    call check(net%reserve(N), 'workspace')  ! no allocation in the steps
  end subroutine make_model

  ! Online training, every EVERY steps: REPEAT passes over the last EVERY
  ! states, each column u(:, s:s) with its right-hand side F(:, s:s) a batch
  ! of N cells, used in place. The rate decays from 1e-2 to 3e-3 over the
  ! learning phase, as the states (and so the batches) settle.
  subroutine learn(net, opt, u, F, t, loss)
    type(nn_net), intent(inout) :: net
    type(nn_optim), intent(inout) :: opt
    real(dp), intent(in), contiguous :: u(:, 0:), F(:, 0:)
    integer, intent(in) :: t
    real(dp), intent(inout) :: loss
    integer :: r, s
    call check(opt%set(NN_OPTIM_LR, 1e-2_dp * 0.3_dp**(real(t, dp) / T_LEARN)), &
        'learning rate')
    do r = 1, REPEAT
      do s = t - EVERY + 1, t
        call check(net%train_step(opt, u(:, s:s), F(:, s:s), loss), 'train_step')
      end do
    end do
  end subroutine learn

  ! F = net(u) over the cells, BLOCK cells per call, the blocks spread over
  ! the threads; ut and Ft are the columns u(:, t) and F(:, t).
  subroutine surrogate_rhs(net, ut, Ft, nthreads)
    type(nn_net), intent(in) :: net
    real(dp), intent(in), target, contiguous :: ut(:)
    real(dp), intent(inout), target, contiguous :: Ft(:)
    integer, intent(out) :: nthreads
    nthreads = 1
    !$omp parallel shared(net, ut, Ft, nthreads)
    call rhs_blocks(net, ut, Ft)
    !$omp master
    !$ nthreads = omp_get_num_threads()
    !$omp end master
    !$omp end parallel
  end subroutine surrogate_rhs

  ! One thread's share of the blocks, with the thread's own context (a
  ! local variable here, so private to the thread). A block of cells is
  ! viewed as a (cells x 1) batch through contiguous pointers: the
  ! compiler then knows it is contiguous and passes it as it is (for the
  ! section ut(lo:hi, :) of a 2-d array it would not know, and copy).
  subroutine rhs_blocks(net, ut, Ft)
    type(nn_net), intent(in) :: net
    real(dp), intent(in), target, contiguous :: ut(:)
    real(dp), intent(inout), target, contiguous :: Ft(:)
    real(dp), pointer, contiguous :: x(:, :), y(:, :)
    type(nn_ctx) :: ctx
    integer :: lo, hi
    call check(ctx%create(net, BLOCK), 'context')
    !$omp do schedule(static)
    do lo = 1, size(ut), BLOCK
      hi = min(lo + BLOCK - 1, size(ut))
      x(1:hi - lo + 1, 1:1) => ut(lo:hi)
      y(1:hi - lo + 1, 1:1) => Ft(lo:hi)
      call check(net%predict(x, y, ctx), 'predict')
    end do
    !$omp end do
    call ctx%destroy()
  end subroutine rhs_blocks

  subroutine check(st, what)
    integer(c_int32_t), intent(in) :: st
    character(len=*), intent(in) :: what
    if (st == NN_OK) return
    print '(a, a, a, a)', 'surrogate: ', what, ': ', nnf_strerror(st)
    error stop 1
  end subroutine check
end program surrogate
