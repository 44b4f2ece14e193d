//! The standard exchange over the async handles that the tokio and futures adapters share
//! (`wsmachine_async::WebSocket`), so that one function drives it on tokio and on smol;
//! and that exchange by our smol client.

use wsmachine::{CloseCode, CloseReport};
use wsmachine_async::{ClientBuilder, ClientRuntime, Config, Error, Incoming, WebSocket};

use crate::peers;

/// The async adapters' config for the standard exchange: wsmachine-examples's
/// `big_message_config` (room for its 1 MiB messages).
pub fn big_async_config() -> Config {
    Config::from(wsmachine_examples::big_message_config())
}

/// The standard exchange (as in tests/peers/py_client.py), run by our client against an
/// echo server: the standard messages one by one, a ping, the burst, then a close with
/// 1000 that must come back clean. Returns the close report, or what went wrong (naming
/// the message).
pub async fn standard_exchange(ws: &mut WebSocket) -> Result<CloseReport, String> {
    for (label, m) in peers::standard_messages() {
        ws.send(m.clone())
            .await
            .map_err(|e| format!("{label}: {e:?}"))?;
        match ws.recv().await {
            Some(Ok(got)) => peers::check_echo(&label, &m, &got)?,
            other => return Err(format!("{label}: {other:?}")),
        }
    }
    ws.ping(&b"p"[..])
        .await
        .map_err(|e| format!("ping: {e:?}"))?;
    loop {
        match ws.recv_event().await {
            Some(Incoming::Pong(p)) if &p[..] == b"p" => break,
            Some(Incoming::Ping(_) | Incoming::Pong(_)) => {}
            other => return Err(format!("waiting for the pong: {other:?}")),
        }
    }
    let burst = peers::burst_messages();
    for (label, m) in &burst {
        ws.send(m.clone())
            .await
            .map_err(|e| format!("{label}: {e:?}"))?;
    }
    for (label, m) in &burst {
        match ws.recv().await {
            Some(Ok(got)) => peers::check_echo(label, m, &got)?,
            other => return Err(format!("{label}: {other:?}")),
        }
    }
    ws.close(CloseCode::NORMAL, "bye")
        .await
        .map_err(|e| format!("close: {e:?}"))?;
    let mut close = None;
    while let Some(ev) = ws.recv_event().await {
        if let Incoming::Close(f) = ev {
            close = Some(f.code);
        }
    }
    if close != Some(CloseCode::NORMAL) {
        return Err(format!("close code received back: {close:?}"));
    }
    let report = ws.close_report().ok_or("no close report")?;
    if !report.clean {
        return Err(format!("not a clean close: {report:?}"));
    }
    Ok(report)
}

/// Our async client on runtime `R` (`wsmachine_tokio::TokioRuntime`, or
/// `wsmachine_futures::Runtime` for smol) through `proxy` to `url`: the `101`, then the
/// [`standard_exchange`]; panics naming the proxy on a failure.
pub async fn exchange_through<R: ClientRuntime + Default>(proxy: &str, url: &str) {
    let mut ws = ClientBuilder::<R>::new(url)
        .config(big_async_config())
        .proxy(proxy)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("through {proxy}: {e}"));
    assert_eq!(ws.response().unwrap().status, 101);
    standard_exchange(&mut ws).await.unwrap();
}

/// The error of our async client on runtime `R` connecting through `proxy` to `url`;
/// panics if it connects.
pub async fn connect_error<R: ClientRuntime + Default>(proxy: &str, url: &str) -> Error {
    match ClientBuilder::<R>::new(url).proxy(proxy).connect().await {
        Ok(_) => panic!("connected through {proxy} to {url}"),
        Err(e) => e,
    }
}

/// The standard exchange by our futures client on smol, against the echo server at
/// `url` (64 MiB messages).
pub fn smol_exchange(url: &str) -> Result<CloseReport, String> {
    smol::block_on(async {
        let config = wsmachine_futures::Config::from(crate::adapter::big_config());
        let mut ws = wsmachine_examples::smol_echo::runtime()
            .connect_with(url, config)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        standard_exchange(&mut ws).await
    })
}
