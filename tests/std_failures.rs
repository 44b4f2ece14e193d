//! The classic failures against the wsmachine-std server (and the std client against a server
//! that ends TCP during the closing handshake). See the test-support crate's `failures` module.
use wsmachine_test_support::{adapter, failures};

use adapter::Kind;
use failures::Ending;

#[test]
fn std_server_survives_reset_during_large_write() {
    failures::reset_during_large_write(Kind::Std);
}

#[test]
fn std_server_client_eof_during_large_frame() {
    failures::end_during_large_frame(Kind::Std, Ending::Eof);
}

#[test]
fn std_server_client_reset_during_large_frame() {
    failures::end_during_large_frame(Kind::Std, Ending::Reset);
}

#[test]
fn std_server_finds_silent_client_by_keepalive() {
    failures::silent_client(Kind::Std);
}

#[test]
fn std_server_client_closes_then_eof() {
    failures::client_close_then_end(Kind::Std, Ending::Eof);
}

#[test]
fn std_server_client_closes_then_reset() {
    failures::client_close_then_end(Kind::Std, Ending::Reset);
}

#[test]
fn std_server_closes_then_client_eof() {
    failures::server_close_then_client_end(Kind::Std, Ending::Eof);
}

#[test]
fn std_server_closes_then_client_reset() {
    failures::server_close_then_client_end(Kind::Std, Ending::Reset);
}

#[test]
fn std_client_close_then_server_eof() {
    failures::std_client_close_vs_rude_server(Ending::Eof);
}

#[test]
fn std_client_close_then_server_reset() {
    failures::std_client_close_vs_rude_server(Ending::Reset);
}

#[test]
fn std_server_too_big_message_gets_1009_not_a_reset() {
    failures::too_big_message_gets_1009(Kind::Std);
}
