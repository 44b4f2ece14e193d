# Shared by the bench scripts (sourced, not run): the echo servers the loopback benches
# drive, and a wait for a server's port.

# Fills the associative array `bin` (declare it first: `declare -A bin`) with each echo
# server's binary under the release directory $1: our tokio and mio examples, the peers'
# servers from crates/wsmachine-bench and the raw TCP echo.
echo_server_bins() { # release-dir
  bin=(
    [tokio]="$1/examples/echo_server" [mio]="$1/examples/mio_echo_server"
    [tungstenite]="$1/echo_tungstenite" [fastwebsockets]="$1/echo_fastwebsockets"
    [tokio-websockets]="$1/echo_tokio_websockets" [raw]="$1/echo_raw"
  )
}

# Waits until 127.0.0.1:$1 accepts a connection, polling every 50 ms at most $2 times
# (default 100); fails if it never does.
wait_for_port() { # port [tries]
  local _
  for _ in $(seq "${2:-100}"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
