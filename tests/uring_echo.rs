//! The completion-based (compio, io_uring) echo server (`wsmachine_examples::uring_echo`),
//! run in-process on port 0: the standard exchange by our std client on the io_uring driver
//! and on the polling fallback, compio's automatic choice agreeing with what the kernel
//! allows, EOF in the middle of a frame, and FIN after a failing Close while the server
//! keeps draining. If the kernel refuses io_uring, the io_uring cases print a `SKIP` line
//! saying why (the refusal is detected, not assumed) and the polling cases still run.
//! Every wait is bounded; nothing asserts speed.

use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use wsmachine::{CloseCode, Config, Message};
use wsmachine_examples::uring_echo::{self, Driver, Ended, UringEchoError};
use wsmachine_test_support::{adapter, failures};

const LIMIT: Duration = Duration::from_secs(30);

/// What `/proc/sys/kernel/io_uring_disabled` says, for the SKIP lines.
fn io_uring_disabled() -> String {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unreadable ({e})"))
}

/// Starts the server on `driver` with `config` on a thread of its own. Returns its address,
/// the driver compio chose and the connection ends it reports, or the reason it could not
/// start (the runtime refused the driver).
fn start(driver: Driver, config: Config) -> Result<(SocketAddr, Driver, Receiver<Ended>), String> {
    let (bound_tx, bound) = channel();
    let (end_tx, ends) = channel();
    let failed = bound_tx.clone();
    std::thread::spawn(move || {
        let result = uring_echo::serve_with(
            "127.0.0.1:0",
            config,
            driver,
            move |addr, chosen| {
                let _ = bound_tx.send(Ok((addr, chosen)));
            },
            move |end| {
                let _ = end_tx.send(end);
            },
        );
        if let Err(e) = result {
            let _ = failed.send(Err(e));
        }
    });
    match bound
        .recv_timeout(LIMIT)
        .expect("the server starts or fails")
    {
        Ok((addr, chosen)) => Ok((addr, chosen, ends)),
        Err(UringEchoError::Runtime(e)) => Err(format!(
            "the kernel refuses this driver ({e}); io_uring_disabled = {}",
            io_uring_disabled()
        )),
        Err(e) => panic!("{e}"),
    }
}

/// Starts a forced-io_uring server, or prints a SKIP line saying why it cannot start.
fn start_io_uring(test: &str, config: Config) -> Option<(SocketAddr, Receiver<Ended>)> {
    match start(Driver::IoUring, config) {
        Ok((addr, chosen, ends)) => {
            assert_eq!(chosen, Driver::IoUring);
            Some((addr, ends))
        }
        Err(why) => {
            eprintln!("SKIP {test}: io_uring unavailable: {why}");
            None
        }
    }
}

/// The end of the connection from `peer` (others are skipped).
fn end_of(ends: &Receiver<Ended>, peer: SocketAddr) -> Ended {
    loop {
        let end = ends.recv_timeout(LIMIT).expect("a connection end");
        if end.peer == peer {
            return end;
        }
    }
}

/// The standard exchange (111 messages up to 1 MiB, ping, burst, close 1000) by our std
/// client, and the server's clean end.
fn standard_exchange(addr: SocketAddr, ends: &Receiver<Ended>) {
    big_echo(addr, ends);
    let mut ws = adapter::std_client(&format!("ws://{addr}/"));
    let report = adapter::std_exchange(&mut ws).unwrap();
    assert!(report.clean, "{report:?}");
    let end = ends.recv_timeout(LIMIT).expect("a connection end");
    assert!(end.error.is_none(), "{end:?}");
    let report = end.report.expect("a close report");
    assert!(report.clean, "{report:?}");
    assert_eq!(report.code(), CloseCode::NORMAL);
    assert_eq!(end.messages, 111);
}

/// A 24 MiB binary message and its echo: it spans many read allocations (joined by the
/// core) and goes back as owned chunks; then a clean close.
fn big_echo(addr: SocketAddr, ends: &Receiver<Ended>) {
    let mut ws = adapter::std_client(&format!("ws://{addr}/"));
    let big = Message::binary(wsmachine_test_support::peers::prng_bytes(24 << 20));
    ws.send(big.clone()).unwrap();
    assert!(ws.recv().unwrap() == big, "the 24 MiB echo differs");
    let report = ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(report.clean, "{report:?}");
    let end = ends.recv_timeout(LIMIT).expect("a connection end");
    assert!(end.error.is_none(), "{end:?}");
    assert_eq!(end.messages, 1);
}

#[test]
fn io_uring_standard_exchange() {
    let Some((addr, ends)) = start_io_uring(
        "io_uring_standard_exchange",
        wsmachine_examples::big_message_config(),
    ) else {
        return;
    };
    standard_exchange(addr, &ends);
}

#[test]
fn polling_fallback_standard_exchange() {
    let (addr, chosen, ends) =
        start(Driver::Polling, wsmachine_examples::big_message_config()).unwrap();
    assert_eq!(chosen, Driver::Polling);
    standard_exchange(addr, &ends);
}

/// The automatic choice (what the example uses) picks io_uring exactly when a forced
/// io_uring runtime starts, and serves either way.
#[test]
fn auto_driver_matches_the_kernel() {
    let io_uring_ok = start(Driver::IoUring, Config::default()).is_ok();
    let (addr, chosen, ends) = start(Driver::Auto, wsmachine_examples::big_message_config())
        .expect("the automatic driver always starts");
    if io_uring_ok {
        assert_eq!(chosen, Driver::IoUring);
    } else {
        assert_eq!(chosen, Driver::Polling);
        eprintln!(
            "NOTE auto_driver_matches_the_kernel: io_uring refused (io_uring_disabled = {}), \
             compio fell back to polling",
            io_uring_disabled()
        );
    }
    standard_exchange(addr, &ends);
}

fn draining_config() -> Config {
    let mut config = wsmachine_examples::big_message_config();
    config.timers.drain_timeout = Some(Duration::from_secs(3600));
    config
}

#[test]
fn io_uring_eof_mid_frame_and_fin_after_failing_close() {
    let Some((addr, ends)) = start_io_uring(
        "io_uring_eof_mid_frame_and_fin_after_failing_close",
        draining_config(),
    ) else {
        return;
    };
    failures::eof_mid_frame_at(addr, |peer| end_of(&ends, peer).report.unwrap());
    failures::fin_after_failing_close_at(addr, |peer| end_of(&ends, peer).report.unwrap());
}

#[test]
fn polling_eof_mid_frame_and_fin_after_failing_close() {
    let (addr, _, ends) = start(Driver::Polling, draining_config()).unwrap();
    failures::eof_mid_frame_at(addr, |peer| end_of(&ends, peer).report.unwrap());
    failures::fin_after_failing_close_at(addr, |peer| end_of(&ends, peer).report.unwrap());
}
