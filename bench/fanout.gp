# fanout.gp: the fan-out plot of BENCHMARKS.md (gnuplot, PNG).
# Data (fanout.dat, written by bench/sweep.py): nodes p50_ms p99_ms acked_p99_ms
# Run: gnuplot -e "data='build/bench/fanout.dat'; out='bench/fanout.png'" bench/fanout.gp
if (!exists("data")) data = 'build/bench/fanout.dat'
if (!exists("out")) out = 'bench/fanout.png'
set terminal pngcairo size 900,560 font ",11"
set output out
set title "Bulletin fan-out: issuer's POST to the last node (simulated nodes, real mutual TLS, loopback, 2 cores)"
set xlabel "connected nodes"
set ylabel "ms (log scale)"
set logscale xy
set xrange [50:5500]
set xtics (65, 250, 1000, 4000)
set key top left
set grid
set yrange [1:*]
target(x) = 35
plot data using 1:2 with linespoints lw 2 pt 7 title "p50", \
     data using 1:2:(sprintf("%.0f", $2)) with labels offset 0,-1 notitle, \
     data using 1:3:(sprintf("%.0f", $3)) with labels offset 0,1 notitle, \
     data using 1:3 with linespoints lw 2 pt 5 title "p99", \
     data using 1:4 with linespoints lw 1 pt 4 dt 2 title "p99 until the hub recorded every ack", \
     35 with lines lc rgb "red" dt 3 lw 2 title "target: p99 35 ms at 1000 nodes"
