//! Every transcript in `tests/transcripts/` (`*.wsrec`) is a regression test: it must replay
//! identically through today's core, without a panic. Drop a transcript recorded in the
//! field, by a fuzz target (`WSM_TRANSCRIPT_OUT`) or by `examples/record_failures.rs` into
//! the folder and it is checked from then on. The classic failures shipped there are also
//! checked for what they show.
#![cfg(feature = "record")]

use std::path::PathBuf;

use wsmachine::TransportEnd;
use wsmachine::record::{self, EventRecord, Record};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn records(t: &[u8]) -> Vec<Record<'_>> {
    record::records(t).unwrap().map(|r| r.unwrap().1).collect()
}

fn events<'a>(records: &'a [Record<'a>]) -> Vec<&'a EventRecord<'a>> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Event(EventRecord::None) => None,
            Record::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn every_transcript_in_the_folder_replays_identically() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wsrec"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 4,
        "the classic failures are missing: {names:?}"
    );
    let mut failures = Vec::new();
    for path in &names {
        let bytes = std::fs::read(path).unwrap();
        match std::panic::catch_unwind(|| record::replay(&bytes)) {
            Ok(Ok(r)) => assert!(r.records > 1, "{}: empty", path.display()),
            Ok(Err(e)) => failures.push(format!("{}: {e}", path.display())),
            Err(_) => failures.push(format!("{}: the replay panicked", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vanish_mid_write_the_server_was_cut_off_inside_its_echo() {
    let t = read("vanish_mid_write.wsrec");
    let list = records(&t);
    // The echo was queued, partly written, then the transport was reset.
    let queued = list.iter().find_map(|r| match r {
        Record::Send { payload, .. } => Some(payload.len() as u64),
        _ => None,
    });
    let written: u64 = list
        .iter()
        .skip_while(|r| !matches!(r, Record::Send { .. }))
        .map(|r| match r {
            Record::Advance { len, .. } => *len,
            _ => 0,
        })
        .sum();
    let queued = queued.expect("the echo");
    assert!(written > 0 && written < queued, "{written} of {queued}");
    assert!(list.contains(&Record::Reset));
    let replayed = record::replay(&t).unwrap();
    let conn = replayed.connection;
    assert!(conn.is_closed() && conn.pending_transmit() == 0);
    let Some(EventRecord::Closed {
        clean, transport, ..
    }) = events(&list).last()
    else {
        panic!("no Closed")
    };
    assert!(!clean);
    assert_eq!(*transport, Some(TransportEnd::Reset));
}

#[test]
fn sleeping_phone_is_found_by_the_keepalive() {
    let t = read("sleeping_phone.wsrec");
    let list = records(&t);
    let ev = events(&list);
    let n = ev.len();
    assert!(n >= 2, "{ev:?}");
    assert!(
        matches!(ev[n - 2], EventRecord::Error(s) if s.contains("keepalive")),
        "{ev:?}"
    );
    assert!(matches!(
        ev[n - 1],
        EventRecord::Closed { clean: false, .. }
    ));
    // The keepalive ping went out before the peer was given up: a timeout record came
    // between the last input and the error.
    assert!(list.iter().any(|r| matches!(r, Record::Timeout { .. })));
    let conn = record::replay(&t).unwrap().connection;
    assert!(conn.is_closed());
}

#[test]
fn eof_during_close_is_unclean_on_both_sides() {
    for (name, sent) in [
        ("eof_during_close.wsrec", "done"),
        ("eof_during_close_client.wsrec", "bye"),
    ] {
        let t = read(name);
        let list = records(&t);
        let Some(EventRecord::Closed {
            sent: Some((1000, reason)),
            received: None,
            clean: false,
            closed_by_us: false,
            transport: Some(TransportEnd::Eof),
        }) = events(&list).last().copied()
        else {
            panic!("{name}: {:?}", events(&list))
        };
        assert_eq!(reason, sent, "{name}");
        assert!(list.contains(&Record::Eof), "{name}");
        assert!(record::replay(&t).unwrap().connection.is_closed(), "{name}");
    }
}
