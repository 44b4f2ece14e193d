//! The runtime-agnostic futures adapter on smol against real peers: Python `websockets`
//! and Node `ws` clients run the standard exchange against the smol echo server, and our
//! smol client runs it against their echo servers (the test-support crate's interop
//! scenarios, as tests/blocking_interop.rs runs them for std and mio). Installed by
//! `scripts/install-peers.sh` (which writes `.peers/env`), with compression off and with
//! permessage-deflate (`--deflate`); without `.peers/env` these tests FAIL,
//! saying to run the script, unless `WSM_SKIP_INTEROP=1` is set.

use wsmachine_test_support::adapter::{self, Kind};

/// One `#[test]` per scenario and peer script, on smol.
macro_rules! on_smol {
    ($($name:ident: $scenario:ident($script:literal);)*) => {
        $(
            #[test]
            fn $name() {
                adapter::$scenario(Kind::Smol, stringify!($name), $script);
            }
        )*
    };
}

on_smol! {
    python_client_against_smol_echo_server: peer_client_against_our_server("py_client.py");
    node_client_against_smol_echo_server: peer_client_against_our_server("node_client.js");
    smol_client_against_python_echo_server: our_client_against_peer_server("py_echo_server.py");
    smol_client_against_node_echo_server: our_client_against_peer_server("node_echo_server.js");
    python_client_deflate_against_smol_echo_server:
        peer_client_against_our_server_deflate("py_client.py");
    node_client_deflate_against_smol_echo_server:
        peer_client_against_our_server_deflate("node_client.js");
    smol_client_deflate_against_python_echo_server:
        our_client_against_peer_server_deflate("py_echo_server.py");
    smol_client_deflate_against_node_echo_server:
        our_client_against_peer_server_deflate("node_echo_server.js");
}
