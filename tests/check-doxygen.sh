#!/bin/sh
# Every public symbol of nn.h and nn_mpi.h must be documented. Doxygen runs
# with the settings of docs/Doxyfile.in (WARN_IF_UNDOCUMENTED=YES, into a
# temporary directory, XML instead of HTML) and any line of its warning log
# fails the check. Doxygen says nothing about an enumerator (or an anonymous
# enum) without documentation, so those are looked up in its XML output.
# usage: check-doxygen.sh SOURCE_DIR [DOXYGEN]
set -eu
src=$(cd "$1" && pwd)
doxygen=${2:-doxygen}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a value for sed's replacement text
esc() { printf '%s\n' "$1" | sed 's/[|&\\]/\\&/g'; }
sed -e "s|@SRCDIR@|$(esc "$src")|g" -e "s|@OUTDIR@|$(esc "$tmp/out")|g" \
    -e "s|@WARN_LOGFILE@|$(esc "$tmp/warnings.log")|g" -e 's|@VERSION@|check|g' \
    "$src/docs/Doxyfile.in" > "$tmp/Doxyfile"
# later settings override earlier ones
printf 'GENERATE_HTML = NO\nGENERATE_XML = YES\n' >> "$tmp/Doxyfile"
(cd "$tmp" && "$doxygen" Doxyfile)

status=0
if [ -s "$tmp/warnings.log" ]; then
    echo "doxygen warnings ($(wc -l < "$tmp/warnings.log")):"
    cat "$tmp/warnings.log"
    status=1
fi

# Enumerators and enums without a brief or detailed description: in each
# header's XML, an <enumvalue> with no <para>, and an enum whose own
# descriptions (after its last enumerator) hold none.
for f in nn_8h nn__mpi_8h; do
    xml="$tmp/out/xml/$f.xml"
    [ -f "$xml" ] || { echo "no Doxygen XML for $f"; status=1; continue; }
    undoc=$(awk '
        /<memberdef kind="enum"/ { inenum = 1; edoc = 0; ename = ""; first = "" }
        inenum && /<enumvalue / { inval = 1; vdoc = 0; vname = "" }
        /<name>/ {
            n = $0; sub(/.*<name>/, "", n); sub(/<\/name>.*/, "", n)
            if (inval) vname = n; else if (inenum && ename == "") ename = n
        }
        /<para>/ { if (inval) vdoc = 1; else if (inenum) edoc = 1 }
        /<\/enumvalue>/ {
            if (!vdoc) print "enumerator " vname
            if (first == "") first = vname
            inval = 0
        }
        inenum && /<\/memberdef>/ {
            if (!edoc) print "enum " ename " (the one of " first ")"
            inenum = 0
        }' "$xml")
    if [ -n "$undoc" ]; then
        echo "undocumented in $(basename "$f" | sed 's/__/_/g; s/_8h$/.h/'):"
        printf '  %s\n' "$undoc"
        status=1
    fi
done
[ "$status" -eq 0 ] || exit 1
echo "every public symbol of nn.h and nn_mpi.h is documented"
