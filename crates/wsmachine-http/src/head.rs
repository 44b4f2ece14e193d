//! Headers both ways, and the heads the core writes (bytes) as `http` values.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use wsmachine::handshake::Headers;

use crate::error::ConvertError;

/// Copies an `http` header map into the core's [`Headers`], one entry per value, names as
/// `http` keeps them (lower case). Never fails: every `http` header is a valid core header.
/// Cost: one copy of every name and value.
pub fn headers_from_http(map: &HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in map {
        headers.push(name.as_str(), value.as_bytes());
    }
    headers
}

/// Copies the core's [`Headers`] into an `http` header map (repeated names kept, in
/// order). Fails on a name that is not a token or a value with control bytes, which only
/// hand-built `Headers` can hold. Cost: one copy of every name and value.
pub fn headers_to_http(headers: &Headers) -> Result<HeaderMap, ConvertError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for h in headers {
        let bad = || ConvertError::InvalidHeader {
            name: h.name.clone(),
        };
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_bytes(&h.value).map_err(|_| bad())?;
        map.append(name, value);
    }
    Ok(map)
}

/// Fills `map` from httparse's header slots.
fn fill(map: &mut HeaderMap, parsed: &[httparse::Header<'_>]) -> Result<(), ConvertError> {
    for h in parsed {
        let bad = || ConvertError::InvalidHeader {
            name: h.name.to_owned(),
        };
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| bad())?;
        map.append(name, value);
    }
    Ok(())
}

/// The most header lines in a head the core writes for us: its own (at most 7) plus the
/// caller's extra headers.
fn slots(head: &[u8]) -> Vec<httparse::Header<'static>> {
    let lines = head.iter().filter(|&&b| b == b'\n').count();
    vec![httparse::EMPTY_HEADER; lines.max(1)]
}

/// Parses a complete response the core wrote (`accept_response`, `reject_response`,
/// `HandshakeError::response`): the head becomes the status and headers, the rest the body.
pub(crate) fn parse_response(bytes: &[u8]) -> Result<http::Response<Vec<u8>>, ConvertError> {
    let mut slots = slots(bytes);
    let mut parsed = httparse::Response::new(&mut slots);
    let n = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err(ConvertError::InvalidHead("response head does not parse")),
    };
    let status = parsed
        .code
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .ok_or(ConvertError::InvalidHead("bad status"))?;
    let mut response = http::Response::new(bytes.get(n..).unwrap_or_default().to_vec());
    *response.status_mut() = status;
    *response.version_mut() = http::Version::HTTP_11;
    fill(response.headers_mut(), parsed.headers)?;
    Ok(response)
}

/// Parses a request head the core wrote (`ClientHandshake::request_bytes`).
pub(crate) fn parse_request(bytes: &[u8]) -> Result<http::Request<()>, ConvertError> {
    let mut slots = slots(bytes);
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(ConvertError::InvalidHead("request head does not parse")),
    }
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(ConvertError::InvalidHead("incomplete request line"));
    };
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| ConvertError::InvalidHead("bad method"))?;
    let uri: http::Uri = target
        .parse()
        .map_err(|_| ConvertError::InvalidUri(target.to_owned()))?;
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = http::Version::HTTP_11;
    fill(request.headers_mut(), parsed.headers)?;
    Ok(request)
}

/// Writes a response head (status line, headers, empty line) for the core's client
/// handshake to parse.
pub(crate) fn write_response_head(
    status: http::StatusCode,
    version: http::Version,
    headers: &HeaderMap,
) -> Vec<u8> {
    let version = if version == http::Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let mut out = Vec::with_capacity(64 + headers.len() * 32);
    out.extend_from_slice(version.as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_keeps_repeats_and_order() {
        let mut ours = Headers::new();
        ours.push("Host", "example.com");
        ours.push("X-Multi", "a");
        ours.push("x-multi", &[0xe9u8, b'b'][..]);
        let map = headers_to_http(&ours).unwrap();
        assert_eq!(map.get_all("x-multi").iter().count(), 2);
        let back = headers_from_http(&map);
        assert_eq!(back.get("host"), Some(&b"example.com"[..]));
        assert_eq!(
            back.get_all("X-MULTI").collect::<Vec<_>>(),
            [&b"a"[..], &[0xe9, b'b'][..]]
        );
    }

    #[test]
    fn invalid_headers_are_refused_not_dropped() {
        for (n, v) in [("Bad Name", "v"), ("X-A", "a\r\nb"), ("", "v")] {
            let mut h = Headers::new();
            h.push(n, v);
            assert_eq!(
                headers_to_http(&h),
                Err(ConvertError::InvalidHeader { name: n.into() })
            );
        }
    }

    #[test]
    fn response_bytes_parse_with_body() {
        let r = parse_response(b"HTTP/1.1 403 Forbidden\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nno")
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["x-a"], "1");
        assert_eq!(r.body(), b"no");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
