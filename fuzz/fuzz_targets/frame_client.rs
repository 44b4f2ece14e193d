//! Raw bytes from a server, in chunks, to a handshake-free client connection.
//! Input: `[flags, chunk_seed, bytes...]` (see `wsmachine_fuzz::config_from_flags`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wsmachine_fuzz::run_frame_target(wsmachine::Role::Client, data);
});
