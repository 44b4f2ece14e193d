//! Interop of the blocking-style adapters, wsmachine-std and wsmachine-mio, with real peers
//! (Python `websockets`, Node `ws`, installed by scripts/install-peers.sh): their clients
//! against our std and mio echo servers, our std and mio clients against their echo servers,
//! each running the standard exchange, with compression off and with permessage-deflate
//! (`--deflate`: the peers' default settings; ours, `big_config`: the default
//! `DeflateConfig`), both ends checked to have agreed on it.
//! Without `.peers/env` these fail unless `WSM_SKIP_INTEROP=1`.
//! The scenarios are the test-support crate's (`adapter::peer_client_against_our_server`,
//! `adapter::our_client_against_peer_server`); tests/futures_interop.rs runs them on smol.
use wsmachine_test_support::adapter;

use adapter::Kind;

#[test]
fn python_client_against_std_echo_server() {
    adapter::peer_client_against_our_server(
        Kind::Std,
        "python_client_against_std_echo_server",
        "py_client.py",
    );
}

#[test]
fn node_client_against_std_echo_server() {
    adapter::peer_client_against_our_server(
        Kind::Std,
        "node_client_against_std_echo_server",
        "node_client.js",
    );
}

#[test]
fn std_client_against_python_echo_server() {
    adapter::our_client_against_peer_server(
        Kind::Std,
        "std_client_against_python_echo_server",
        "py_echo_server.py",
    );
}

#[test]
fn std_client_against_node_echo_server() {
    adapter::our_client_against_peer_server(
        Kind::Std,
        "std_client_against_node_echo_server",
        "node_echo_server.js",
    );
}

#[test]
fn python_client_against_mio_echo_server() {
    adapter::peer_client_against_our_server(
        Kind::Mio,
        "python_client_against_mio_echo_server",
        "py_client.py",
    );
}

#[test]
fn node_client_against_mio_echo_server() {
    adapter::peer_client_against_our_server(
        Kind::Mio,
        "node_client_against_mio_echo_server",
        "node_client.js",
    );
}

#[test]
fn mio_client_against_python_echo_server() {
    adapter::our_client_against_peer_server(
        Kind::Mio,
        "mio_client_against_python_echo_server",
        "py_echo_server.py",
    );
}

#[test]
fn mio_client_against_node_echo_server() {
    adapter::our_client_against_peer_server(
        Kind::Mio,
        "mio_client_against_node_echo_server",
        "node_echo_server.js",
    );
}

#[test]
fn python_client_deflate_against_std_echo_server() {
    adapter::peer_client_against_our_server_deflate(
        Kind::Std,
        "python_client_deflate_against_std_echo_server",
        "py_client.py",
    );
}

#[test]
fn std_client_deflate_against_python_echo_server() {
    adapter::our_client_against_peer_server_deflate(
        Kind::Std,
        "std_client_deflate_against_python_echo_server",
        "py_echo_server.py",
    );
}

#[test]
fn node_client_deflate_against_std_echo_server() {
    adapter::peer_client_against_our_server_deflate(
        Kind::Std,
        "node_client_deflate_against_std_echo_server",
        "node_client.js",
    );
}

#[test]
fn std_client_deflate_against_node_echo_server() {
    adapter::our_client_against_peer_server_deflate(
        Kind::Std,
        "std_client_deflate_against_node_echo_server",
        "node_echo_server.js",
    );
}

#[test]
fn python_client_deflate_against_mio_echo_server() {
    adapter::peer_client_against_our_server_deflate(
        Kind::Mio,
        "python_client_deflate_against_mio_echo_server",
        "py_client.py",
    );
}

#[test]
fn mio_client_deflate_against_python_echo_server() {
    adapter::our_client_against_peer_server_deflate(
        Kind::Mio,
        "mio_client_deflate_against_python_echo_server",
        "py_echo_server.py",
    );
}

#[test]
fn node_client_deflate_against_mio_echo_server() {
    adapter::peer_client_against_our_server_deflate(
        Kind::Mio,
        "node_client_deflate_against_mio_echo_server",
        "node_client.js",
    );
}

#[test]
fn mio_client_deflate_against_node_echo_server() {
    adapter::our_client_against_peer_server_deflate(
        Kind::Mio,
        "mio_client_deflate_against_node_echo_server",
        "node_echo_server.js",
    );
}
