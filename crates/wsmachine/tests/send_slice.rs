//! The borrowed send path (`send_binary_slice`, `send_text_str`) puts the same bytes on the
//! wire as `send` of an owned message, in both roles, with automatic fragmentation (and
//! permessage-deflate where built), and refuses what `send` refuses, in the same order.

use proptest::prelude::*;
use wsmachine::random::SeededRandom;
use wsmachine::{
    Bytes, Config, Connection, Limits, Message, MessageKind, Role, SendError, Timestamp,
};

fn open(role: Role, config: Config) -> Connection {
    Connection::open_with_random(
        role,
        config,
        Timestamp::ZERO,
        Box::new(SeededRandom::from_u64(9)),
    )
}

fn wire(c: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    c.write_transmit_to(&mut out, usize::MAX);
    out
}

proptest! {
    #[test]
    fn borrowed_and_owned_sends_write_the_same_bytes(
        client in any::<bool>(),
        fragment in prop::option::of(1usize..300),
        messages in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..2000)), 1..8),
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let config = Config { auto_fragment_size: fragment, ..Config::default() };
        let (mut borrowed, mut owned) = (open(role, config), open(role, config));
        for (text, data) in &messages {
            if *text {
                let s = String::from_utf8_lossy(data).into_owned();
                borrowed.send_text_str(&s).unwrap();
                owned.send(Message::text(s)).unwrap();
            } else {
                borrowed.send_binary_slice(data).unwrap();
                owned.send(Message::binary(Bytes::copy_from_slice(data))).unwrap();
            }
            prop_assert_eq!(wire(&mut borrowed), wire(&mut owned));
        }
    }
}

#[test]
fn borrowed_sends_refuse_what_send_refuses() {
    // Before the handshake.
    let mut c = Connection::client(
        &wsmachine::ClientRequest::new("ws://example.com/").unwrap(),
        Config::default(),
        Timestamp::ZERO,
    )
    .unwrap();
    assert_eq!(c.send_binary_slice(b"x"), Err(SendError::NotOpen));
    // A fragmented message in progress.
    let mut c = open(Role::Server, Config::default());
    c.send_fragment(MessageKind::Binary, Bytes::from_static(b"a"), false)
        .unwrap();
    assert_eq!(c.send_text_str("x"), Err(SendError::MessageInProgress));
    // The queue limit, counted as `send_queue_cost` says.
    let config = Config {
        limits: Limits {
            max_send_queue: 100,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut c = open(Role::Client, config);
    c.send_binary_slice(&[0; 86]).unwrap();
    assert!(matches!(
        c.send_binary_slice(&[0; 1]),
        Err(SendError::QueueFull { .. })
    ));
    // After close.
    let mut c = open(Role::Server, Config::default());
    c.close(Timestamp::ZERO, wsmachine::CloseCode::NORMAL, "")
        .unwrap();
    assert_eq!(c.send_binary_slice(b"x"), Err(SendError::Closing));
}
