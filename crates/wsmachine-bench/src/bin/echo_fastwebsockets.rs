//! fastwebsockets' echo server, as its documentation writes it (`read_frame` through a
//! `FragmentCollector`, `write_frame` back; automatic close and pong; vectored writes above
//! its default 1 KiB threshold), after a minimal handshake of our own (fastwebsockets has
//! none without hyper); multi-threaded tokio runtime like ours; messages up to 64 MiB.
//!
//! `echo_fastwebsockets [ADDR]` (default `127.0.0.1:9001`).

use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = wsmachine_bench::addr_arg();
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "fastwebsockets echo listening on {}",
        listener.local_addr()?
    );
    loop {
        let (mut stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if wsmachine_bench::server_handshake(&mut stream)
                .await
                .is_err()
            {
                return;
            }
            let mut ws = WebSocket::after_handshake(stream, Role::Server);
            ws.set_auto_close(true);
            ws.set_auto_pong(true);
            ws.set_max_message_size(64 << 20);
            let mut ws = FragmentCollector::new(ws);
            loop {
                let Ok(frame) = ws.read_frame().await else {
                    return;
                };
                let echo = match frame.opcode {
                    OpCode::Close => return,
                    OpCode::Text | OpCode::Binary => ws.write_frame(frame).await,
                    _ => Ok(()),
                };
                if echo.is_err() {
                    return;
                }
            }
        });
    }
}
