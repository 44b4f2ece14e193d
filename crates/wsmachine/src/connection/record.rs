//! The recording hooks: every public input of a [`Connection`] tells its recorder what it
//! was given and what it returned (see [`record`](crate::record) for the format). With the
//! `record` feature off, the recorder is a zero-sized type whose hooks are empty.

#[cfg(feature = "record")]
pub(super) use on::Rec;

#[cfg(not(feature = "record"))]
pub(super) use off::Rec;

#[cfg(feature = "record")]
mod on {
    use alloc::borrow::Cow;
    use alloc::boxed::Box;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;
    use bytes::Bytes;

    use crate::close::CloseCode;
    use crate::config::Config;
    use crate::connection::{AcceptError, Connection};
    use crate::error::{ConnectionError, SendError};
    use crate::event::{Closer, Event};
    use crate::handshake::{Accept, ClientRequest};
    use crate::message::{Message, MessageKind};
    use crate::random::RandomSource;
    use crate::record::{Digest, EventRecord, Out, Outcome, Record};
    use crate::role::Role;
    use crate::time::Timestamp;
    use crate::transmit::{Encoder, Transmitter};

    /// A connection's recorder: the transcript bytes not yet taken, or nothing when the
    /// connection does not record. Boxed so that a connection that does not record holds
    /// one word for it.
    #[allow(clippy::box_collection)]
    pub(in crate::connection) struct Rec(Option<Box<Vec<u8>>>);

    /// Draws through a random source and keeps a copy of what was drawn.
    struct Tap<'a> {
        inner: &'a mut dyn RandomSource,
        drawn: Vec<u8>,
    }

    impl RandomSource for Tap<'_> {
        fn fill(&mut self, buf: &mut [u8]) {
            self.inner.fill(buf);
            self.drawn.extend_from_slice(buf);
        }
    }

    fn event_record(e: Option<&Event>) -> EventRecord<'_> {
        let Some(e) = e else {
            return EventRecord::None;
        };
        match e {
            Event::Request(r) => {
                let ext: Vec<String> = r.extensions.iter().map(|e| e.to_header_value()).collect();
                EventRecord::Request(Cow::Owned(format!(
                    "{} {}{}{} key {} protocols {:?} extensions {:?}",
                    r.method,
                    r.path,
                    if r.query.is_some() { "?" } else { "" },
                    r.query.as_deref().unwrap_or(""),
                    r.key,
                    r.subprotocols,
                    ext
                )))
            }
            Event::Connected(r) => {
                let ext: Vec<String> = r.extensions.iter().map(|e| e.to_header_value()).collect();
                EventRecord::Connected(Cow::Owned(format!(
                    "{} protocol {:?} extensions {:?}",
                    r.status, r.subprotocol, ext
                )))
            }
            Event::Message(m) => EventRecord::Message {
                kind: m.kind(),
                len: m.payload().len() as u64,
                digest: Digest::of(m.payload()),
            },
            Event::Fragment(f) => EventRecord::Fragment {
                kind: f.kind,
                first: f.is_first,
                last: f.is_last,
                len: f.data.len() as u64,
                digest: Digest::of(&f.data),
            },
            Event::Ping(p) => EventRecord::Ping(p),
            Event::Pong(p) => EventRecord::Pong(p),
            Event::CloseReceived(c) => EventRecord::CloseReceived {
                code: c.code.0,
                reason: Cow::Borrowed(&c.reason),
            },
            Event::Error(ConnectionError::Protocol(p, at)) => EventRecord::ProtocolError {
                code: p.close_code().0,
                error: Cow::Owned(format!("{p}")),
                at: *at,
            },
            Event::Error(other) => EventRecord::Error(Cow::Owned(format!("{other}"))),
            Event::Closed(r) => {
                fn pair(c: &Option<crate::close::CloseFrame>) -> Option<(u16, Cow<'_, str>)> {
                    c.as_ref()
                        .map(|f| (f.code.0, Cow::Borrowed(f.reason.as_str())))
                }
                EventRecord::Closed {
                    sent: pair(&r.sent),
                    received: pair(&r.received),
                    clean: r.clean,
                    closed_by_us: r.closed_by == Closer::Us,
                    transport: r.transport,
                }
            }
        }
    }

    impl Rec {
        /// A recorder for a connection built with `config`, whose first record is `first`
        /// (or none if `config.record` is off).
        fn start(config: &Config, first: &Record<'_>) -> Rec {
            if !config.record {
                return Rec(None);
            }
            let mut buf = Box::default();
            let mut out = Out(&mut buf);
            out.header();
            out.record(first);
            Rec(Some(buf))
        }

        pub(in crate::connection) fn open(role: Role, config: &Config, now: Timestamp) -> Rec {
            Rec::start(
                config,
                &Record::Open {
                    role,
                    now,
                    config: *config,
                },
            )
        }

        pub(in crate::connection) fn server(config: &Config, now: Timestamp) -> Rec {
            Rec::start(
                config,
                &Record::Server {
                    now,
                    config: *config,
                },
            )
        }

        pub(in crate::connection) fn client(
            config: &Config,
            now: Timestamp,
            request: &ClientRequest,
        ) -> Rec {
            Rec::start(
                config,
                &Record::Client {
                    now,
                    config: *config,
                    request: Cow::Borrowed(request),
                },
            )
        }

        /// Appends `r` to the transcript. Out of line and cold: the hooks on the hot paths
        /// are inline and test first whether the connection records, so a build with the
        /// `record` feature costs a connection that does not record one branch per hook.
        #[cold]
        #[inline(never)]
        fn write(&mut self, r: &Record<'_>) {
            if let Some(buf) = self.0.as_deref_mut() {
                Out(buf).record(r);
            }
        }

        /// Runs `f` with `random`, recording what it draws (a client's handshake key).
        pub(in crate::connection) fn draw<T>(
            &mut self,
            random: &mut dyn RandomSource,
            f: impl FnOnce(&mut dyn RandomSource) -> T,
        ) -> T {
            if self.0.is_none() {
                return f(random);
            }
            let mut tap = Tap {
                inner: random,
                drawn: Vec::new(),
            };
            let t = f(&mut tap);
            if !tap.drawn.is_empty() {
                self.write(&Record::Random(&tap.drawn));
            }
            t
        }

        /// Whether this connection records.
        pub(in crate::connection) fn is_on(&self) -> bool {
            self.0.is_some()
        }

        /// Starts keeping the masking-key bytes the encoder draws.
        pub(in crate::connection) fn tap(&self, tx: &mut Transmitter) {
            if let (Some(_), Encoder::Client(keys)) = (&self.0, &mut tx.encoder) {
                keys.drawn = Some(Vec::new());
            }
        }

        /// Writes the random bytes drawn since the last call, if any.
        fn flush_random(&mut self, tx: &mut Transmitter) {
            if self.0.is_none() {
                return;
            }
            if let Encoder::Client(keys) = &mut tx.encoder {
                if let Some(d) = keys.drawn.as_mut().filter(|d| !d.is_empty()) {
                    let drawn = core::mem::take(d);
                    self.write(&Record::Random(&drawn));
                }
            }
        }

        #[inline]
        pub(in crate::connection) fn input(&mut self, now: Timestamp, bytes: &[u8]) {
            if self.0.is_some() {
                self.write(&Record::Input { now, bytes });
            }
        }

        pub(in crate::connection) fn eof(&mut self) {
            self.write(&Record::Eof);
        }

        pub(in crate::connection) fn reset(&mut self) {
            self.write(&Record::Reset);
        }

        pub(in crate::connection) fn write_closed(&mut self) {
            self.write(&Record::WriteClosed);
        }

        pub(in crate::connection) fn timeout(&mut self, now: Timestamp) {
            self.write(&Record::Timeout { now });
        }

        /// After `handle_timeout`: the keepalive ping's key.
        pub(in crate::connection) fn timeout_done(&mut self, tx: &mut Transmitter) {
            self.flush_random(tx);
        }

        pub(in crate::connection) fn accept(&mut self, now: Timestamp, accept: &Accept) {
            self.write(&Record::Accept {
                now,
                accept: Cow::Borrowed(accept),
            });
        }

        pub(in crate::connection) fn reject(
            &mut self,
            status: u16,
            headers: &[(String, String)],
            body: &[u8],
        ) {
            self.write(&Record::Reject {
                status,
                headers: Cow::Borrowed(headers),
                body,
            });
        }

        pub(in crate::connection) fn decided(
            &mut self,
            result: &Result<(), AcceptError>,
            tx: &mut Transmitter,
        ) {
            self.write(&Record::Outcome(match result {
                Ok(()) => Outcome::Ok,
                Err(AcceptError::NoPendingRequest) => Outcome::NoPendingRequest,
                Err(AcceptError::Handshake(_)) => Outcome::InvalidAccept,
            }));
            self.flush_random(tx);
        }

        #[cfg(feature = "deflate")]
        pub(in crate::connection) fn use_deflate(
            &mut self,
            params: &crate::deflate::DeflateParams,
            settings: &crate::deflate::DeflateConfig,
        ) {
            self.write(&Record::UseDeflate {
                params: *params,
                settings: *settings,
            });
        }

        #[inline]
        pub(in crate::connection) fn send(&mut self, message: &Message, compress: bool) {
            if self.0.is_some() {
                self.write(&Record::Send {
                    kind: message.kind(),
                    compress,
                    payload: message.payload(),
                });
            }
        }

        #[inline]
        pub(in crate::connection) fn fragment(
            &mut self,
            kind: MessageKind,
            data: &[u8],
            last: bool,
            compress: bool,
        ) {
            if self.0.is_some() {
                self.write(&Record::SendFragment {
                    kind,
                    compress,
                    last,
                    payload: data,
                });
            }
        }

        #[inline]
        pub(in crate::connection) fn control(&mut self, pong: bool, payload: &[u8]) {
            if self.0.is_some() {
                self.write(&if pong {
                    Record::Pong(payload)
                } else {
                    Record::Ping(payload)
                });
            }
        }

        pub(in crate::connection) fn close(
            &mut self,
            now: Timestamp,
            code: CloseCode,
            reason: &str,
        ) {
            self.write(&Record::Close {
                now,
                code: code.0,
                reason,
            });
        }

        /// The result of a send, ping, pong or close.
        #[inline]
        pub(in crate::connection) fn sent(
            &mut self,
            result: &Result<(), SendError>,
            tx: &mut Transmitter,
        ) {
            if self.0.is_some() {
                self.record_sent(result, tx);
            }
        }

        #[cold]
        #[inline(never)]
        fn record_sent(&mut self, result: &Result<(), SendError>, tx: &mut Transmitter) {
            self.write(&Record::Outcome(match result {
                Ok(()) => Outcome::Ok,
                Err(e) => Outcome::Send(*e),
            }));
            self.flush_random(tx);
        }

        #[inline]
        pub(in crate::connection) fn event(&mut self, event: Option<&Event>, tx: &mut Transmitter) {
            if self.0.is_some() {
                self.record_event(event, tx);
            }
        }

        #[cold]
        #[inline(never)]
        fn record_event(&mut self, event: Option<&Event>, tx: &mut Transmitter) {
            self.write(&Record::Event(event_record(event)));
            self.flush_random(tx);
        }

        /// Before `advance_transmit(n)`: what it acknowledges.
        #[inline]
        pub(in crate::connection) fn advance(&mut self, tx: &Transmitter, n: usize) {
            if self.0.is_some() {
                self.record_advance(tx, n);
            }
        }

        #[cold]
        #[inline(never)]
        fn record_advance(&mut self, tx: &Transmitter, n: usize) {
            let mut digest = Digest::default();
            let mut left = n;
            for s in tx.slices() {
                let take = s.len().min(left);
                digest.update(&s[..take]);
                left -= take;
                if left == 0 {
                    break;
                }
            }
            self.write(&Record::Advance {
                n: n as u64,
                len: (n - left) as u64,
                digest: digest.finish(),
            });
        }

        #[inline]
        pub(in crate::connection) fn poll_transmit(&mut self, chunk: Option<&Bytes>) {
            if self.0.is_some() {
                self.record_poll_transmit(chunk);
            }
        }

        #[cold]
        #[inline(never)]
        fn record_poll_transmit(&mut self, chunk: Option<&Bytes>) {
            self.write(&Record::PollTransmit(
                chunk.map(|c| (c.len() as u64, Digest::of(c))),
            ));
        }

        #[inline]
        pub(in crate::connection) fn write_transmit(&mut self, max: usize, copied: &[u8]) {
            if self.0.is_some() {
                self.record_write_transmit(max, copied);
            }
        }

        #[cold]
        #[inline(never)]
        fn record_write_transmit(&mut self, max: usize, copied: &[u8]) {
            self.write(&Record::WriteTransmit {
                max: max as u64,
                len: copied.len() as u64,
                digest: Digest::of(copied),
            });
        }
    }

    impl Connection {
        /// Whether this connection records its inputs (its config had `record` set).
        pub fn is_recording(&self) -> bool {
            self.rec.0.is_some()
        }

        /// Takes the transcript bytes recorded since the last call (the first call's start
        /// with the header): concatenated in order, the chunks are the transcript (see
        /// [`record`](crate::record)). Empty when the connection does not record.
        ///
        /// Memory: what is recorded stays in the connection until taken: about every byte
        /// received and every payload sent, plus some bytes per call. Take it regularly (e.g.
        /// after each round of the driving loop) and write it out to keep it small.
        pub fn take_transcript(&mut self) -> Vec<u8> {
            match self.rec.0.as_deref_mut() {
                Some(buf) => core::mem::take(buf),
                None => Vec::new(),
            }
        }
    }
}

#[cfg(not(feature = "record"))]
mod off {
    use alloc::string::String;
    use bytes::Bytes;

    use crate::close::CloseCode;
    use crate::config::Config;
    use crate::connection::AcceptError;
    use crate::error::SendError;
    use crate::event::Event;
    use crate::handshake::{Accept, ClientRequest};
    use crate::message::{Message, MessageKind};
    use crate::random::RandomSource;
    use crate::role::Role;
    use crate::time::Timestamp;
    use crate::transmit::Transmitter;

    /// Without the `record` feature: nothing is recorded.
    pub(in crate::connection) struct Rec;

    #[allow(clippy::unused_self)]
    impl Rec {
        #[inline(always)]
        pub(in crate::connection) fn open(_: Role, _: &Config, _: Timestamp) -> Rec {
            Rec
        }
        #[inline(always)]
        pub(in crate::connection) fn server(_: &Config, _: Timestamp) -> Rec {
            Rec
        }
        #[inline(always)]
        pub(in crate::connection) fn client(_: &Config, _: Timestamp, _: &ClientRequest) -> Rec {
            Rec
        }
        #[inline(always)]
        pub(in crate::connection) fn draw<T>(
            &mut self,
            random: &mut dyn RandomSource,
            f: impl FnOnce(&mut dyn RandomSource) -> T,
        ) -> T {
            f(random)
        }
        #[inline(always)]
        pub(in crate::connection) fn tap(&self, _: &mut Transmitter) {}
        #[inline(always)]
        pub(in crate::connection) fn input(&mut self, _: Timestamp, _: &[u8]) {}
        #[inline(always)]
        pub(in crate::connection) fn is_on(&self) -> bool {
            false
        }
        #[inline(always)]
        pub(in crate::connection) fn eof(&mut self) {}
        #[inline(always)]
        pub(in crate::connection) fn reset(&mut self) {}
        #[inline(always)]
        pub(in crate::connection) fn write_closed(&mut self) {}
        #[inline(always)]
        pub(in crate::connection) fn timeout(&mut self, _: Timestamp) {}
        #[inline(always)]
        pub(in crate::connection) fn timeout_done(&mut self, _: &mut Transmitter) {}
        #[inline(always)]
        pub(in crate::connection) fn accept(&mut self, _: Timestamp, _: &Accept) {}
        #[inline(always)]
        pub(in crate::connection) fn reject(&mut self, _: u16, _: &[(String, String)], _: &[u8]) {}
        #[inline(always)]
        pub(in crate::connection) fn decided(
            &mut self,
            _: &Result<(), AcceptError>,
            _: &mut Transmitter,
        ) {
        }
        #[cfg(feature = "deflate")]
        #[inline(always)]
        pub(in crate::connection) fn use_deflate(
            &mut self,
            _: &crate::deflate::DeflateParams,
            _: &crate::deflate::DeflateConfig,
        ) {
        }
        #[inline(always)]
        pub(in crate::connection) fn send(&mut self, _: &Message, _: bool) {}
        #[inline(always)]
        pub(in crate::connection) fn fragment(
            &mut self,
            _: MessageKind,
            _: &[u8],
            _: bool,
            _: bool,
        ) {
        }
        #[inline(always)]
        pub(in crate::connection) fn control(&mut self, _: bool, _: &[u8]) {}
        #[inline(always)]
        pub(in crate::connection) fn close(&mut self, _: Timestamp, _: CloseCode, _: &str) {}
        #[inline(always)]
        pub(in crate::connection) fn sent(
            &mut self,
            _: &Result<(), SendError>,
            _: &mut Transmitter,
        ) {
        }
        #[inline(always)]
        pub(in crate::connection) fn event(&mut self, _: Option<&Event>, _: &mut Transmitter) {}
        #[inline(always)]
        pub(in crate::connection) fn advance(&mut self, _: &Transmitter, _: usize) {}
        #[inline(always)]
        pub(in crate::connection) fn poll_transmit(&mut self, _: Option<&Bytes>) {}
        #[inline(always)]
        pub(in crate::connection) fn write_transmit(&mut self, _: usize, _: &[u8]) {}
    }
}
