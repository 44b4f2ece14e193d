use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

/// Feeds `reply` one byte at a time; returns the result of the call that completed the
/// step (or the last `Ok(None)`), and how many bytes were fed.
fn drip(hs: &mut ProxyHandshake, reply: &[u8]) -> (Result<Option<usize>, ProxyError>, usize) {
    for (i, b) in reply.iter().enumerate() {
        match hs.handle_input(core::slice::from_ref(b)) {
            Ok(None) => continue,
            other => return (other, i + 1),
        }
    }
    (Ok(None), reply.len())
}

fn send_all(hs: &mut ProxyHandshake) -> Vec<u8> {
    let out = hs.transmit().to_vec();
    hs.advance_transmit(out.len());
    assert!(hs.transmit().is_empty());
    out
}

#[test]
fn proxy_urls() {
    let p = Proxy::parse("http://user:pa%20ss%40x@proxy.example:3128").unwrap();
    assert_eq!(p.kind, ProxyKind::Http);
    assert_eq!((p.host.as_str(), p.port), ("proxy.example", 3128));
    let c = p.credentials.as_ref().unwrap();
    assert_eq!(
        (c.username.as_str(), c.password.as_str()),
        ("user", "pa ss@x")
    );
    assert!(
        !format!("{p:?}").contains("pa ss"),
        "Debug hides the password"
    );

    let p = Proxy::parse("SOCKS5H://[::1]:1081/").unwrap();
    assert_eq!(
        (p.kind, p.host.as_str(), p.port),
        (ProxyKind::Socks5h, "::1", 1081)
    );
    assert!(p.credentials.is_none() && !p.resolves_locally());
    let p = Proxy::parse("socks5://u@10.0.0.1").unwrap();
    assert_eq!((p.port, p.resolves_locally()), (1080, true));
    assert_eq!(p.credentials.unwrap().password, "");
    assert_eq!(Proxy::parse("http://h").unwrap().port, 80);

    for bad in [
        "proxy:3128",
        "https://h:1",
        "ftp://h",
        "http://",
        "http://h:0",
        "http://h:99999",
        "http://h:+1",
        "http://h/path",
        "http://h?q",
        "http://[::1",
        "http://[zz]:1",
        "http://u:%zz@h",
        "http://u:%ff@h",
        "http://h st:1",
    ] {
        assert!(
            matches!(Proxy::parse(bad), Err(ProxyError::InvalidUrl(_))),
            "{bad}"
        );
    }
}

#[test]
fn http_connect_request_and_tunnel_bytes() {
    let proxy = Proxy::parse("http://aladdin:open%20sesame@p:8080").unwrap();
    let mut hs = proxy
        .handshake(&Target::domain("ws.example.com", 9001))
        .unwrap();
    assert!(!hs.wants_input());
    let req = send_all(&mut hs);
    assert_eq!(
        String::from_utf8(req).unwrap(),
        "CONNECT ws.example.com:9001 HTTP/1.1\r\nHost: ws.example.com:9001\r\n\
         Proxy-Authorization: Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
    );
    assert!(hs.wants_input());
    let head = b"HTTP/1.0 200 Connection established\r\nProxy-agent: x\r\n\r\n";
    let (r, fed) = drip(&mut hs, head);
    assert_eq!((r, fed), (Ok(Some(1)), head.len()));
    assert!(hs.is_open() && !hs.wants_input());
    assert_eq!(hs.handle_input(b"x"), Err(ProxyError::AlreadyOpen));

    // The head and the target's first bytes in one read.
    let mut hs =
        ProxyHandshake::http_connect(&Target::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST), 443), None)
            .unwrap();
    assert!(
        send_all(&mut hs).starts_with(b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n")
    );
    let mut input = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    input.extend_from_slice(b"TARGET");
    assert_eq!(hs.handle_input(&input), Ok(Some(19)));
}

#[test]
fn http_connect_refusals() {
    let target = Target::domain("t", 1);
    let mut hs = ProxyHandshake::http_connect(&target, None).unwrap();
    let r = hs.handle_input(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
    );
    assert_eq!(
        r,
        Err(ProxyError::HttpStatus {
            status: 407,
            reason: "Proxy Authentication Required".into()
        })
    );
    assert_eq!(hs.handle_input(b"more"), Err(ProxyError::Failed));
    assert!(!hs.wants_input() && !hs.is_open());

    let mut hs = ProxyHandshake::http_connect(&target, None).unwrap();
    assert!(matches!(
        hs.handle_input(b"SSH-2.0-OpenSSH\r\n\r\n"),
        Err(ProxyError::Malformed(_))
    ));

    let mut hs = ProxyHandshake::http_connect(&target, None).unwrap();
    assert_eq!(hs.handle_input(b"HTTP/1.1 200 OK\r\nX: "), Ok(None));
    let filler = vec![b'a'; MAX_RESPONSE_HEAD];
    assert_eq!(hs.handle_input(&filler), Err(ProxyError::HeadTooLarge));

    for (name, creds) in [
        ("bad host", None),
        ("t", Some(("a:b", "c"))),
        ("t", Some(("a", "c\r\nX: y"))),
    ] {
        let creds = creds.map(|(u, p): (&str, &str)| Credentials {
            username: u.into(),
            password: p.into(),
        });
        assert!(matches!(
            ProxyHandshake::http_connect(&Target::Domain(name.into(), 1), creds.as_ref()),
            Err(ProxyError::InvalidInput(_))
        ));
    }
}

#[test]
fn socks5_without_authentication() {
    let proxy = Proxy::parse("socks5h://p").unwrap();
    let mut hs = proxy.handshake(&Target::domain("example.com", 80)).unwrap();
    assert_eq!(send_all(&mut hs), [5, 1, 0]);
    let (r, _) = drip(&mut hs, &[5, 0]);
    assert_eq!(r, Ok(None));
    let mut connect = vec![5, 1, 0, 3, 11];
    connect.extend_from_slice(b"example.com");
    connect.extend_from_slice(&[0, 80]);
    assert_eq!(send_all(&mut hs), connect);
    // Reply with an IPv4 bind address, then the target's first bytes in the same read.
    let reply = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, b'h', b'i'];
    assert_eq!(hs.handle_input(&reply), Ok(Some(10)));
    assert!(hs.is_open());
}

#[test]
fn socks5_with_username_and_password() {
    let proxy = Proxy::parse("socks5://alice:s3cret@p:1080").unwrap();
    assert!(matches!(
        proxy.handshake(&Target::domain("example.com", 80)),
        Err(ProxyError::InvalidInput(_))
    ));
    let target = Target::Ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), 9001);
    let mut hs = proxy.handshake(&target).unwrap();
    assert_eq!(send_all(&mut hs), [5, 2, 0, 2]);
    assert_eq!(hs.handle_input(&[5, 2]), Ok(None));
    let mut auth = vec![1, 5];
    auth.extend_from_slice(b"alice");
    auth.push(6);
    auth.extend_from_slice(b"s3cret");
    assert_eq!(send_all(&mut hs), auth);
    assert_eq!(hs.handle_input(&[1, 0]), Ok(None));
    assert_eq!(send_all(&mut hs), [5, 1, 0, 1, 192, 0, 2, 7, 0x23, 0x29]);
    // A reply with a domain bind address, dripped: complete only at its last byte.
    let mut reply = vec![5, 0, 0, 3, 4];
    reply.extend_from_slice(b"host");
    reply.extend_from_slice(&[0, 1]);
    let (r, fed) = drip(&mut hs, &reply);
    assert_eq!((r, fed), (Ok(Some(1)), reply.len()));

    // IPv6 target and reply.
    let target = Target::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST), 443);
    let mut hs = proxy.handshake(&target).unwrap();
    send_all(&mut hs);
    // Method choice and status in one read: the machine takes both steps.
    assert_eq!(hs.handle_input(&[5, 2, 1, 0]), Ok(None));
    let connect = send_all(&mut hs);
    assert_eq!(connect[..4], [5, 1, 0, 4]);
    assert_eq!(connect.len(), 4 + 16 + 2);
    let mut reply = vec![5, 0, 0, 4];
    reply.extend_from_slice(&[0; 18]);
    assert_eq!(hs.handle_input(&reply), Ok(Some(22)));
}

#[test]
fn socks5_refusals() {
    let creds = Proxy::parse("socks5h://u:p@h").unwrap();
    let plain = Proxy::parse("socks5h://h").unwrap();
    let target = Target::domain("t.example", 1);
    let run = |proxy: &Proxy, replies: &[&[u8]]| {
        let mut hs = proxy.handshake(&target).unwrap();
        let mut last = Ok(None);
        for r in replies {
            send_all(&mut hs);
            last = hs.handle_input(r);
        }
        (last, hs)
    };
    assert_eq!(
        run(&plain, &[&[5, 0xff]]).0,
        Err(ProxyError::NoAcceptableMethod)
    );
    assert!(matches!(
        run(&plain, &[&[5, 2]]).0,
        Err(ProxyError::Malformed(_))
    ));
    assert!(matches!(
        run(&plain, &[&[4, 0]]).0,
        Err(ProxyError::Malformed(_))
    ));
    assert_eq!(
        run(&creds, &[&[5, 2], &[1, 1]]).0,
        Err(ProxyError::AuthenticationFailed(1))
    );
    let (r, mut hs) = run(&plain, &[&[5, 0], &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]]);
    assert_eq!(r, Err(ProxyError::Socks5Reply(5)));
    assert!(format!("{}", r.unwrap_err()).contains("connection refused"));
    assert_eq!(hs.handle_input(&[0]), Err(ProxyError::Failed));
    assert!(matches!(
        run(&plain, &[&[5, 0], &[5, 0, 0, 9]]).0,
        Err(ProxyError::Malformed(_))
    ));

    let long = "a".repeat(256);
    assert!(matches!(
        plain.handshake(&Target::Domain(long.clone(), 1)),
        Err(ProxyError::InvalidInput(_))
    ));
    let long_user = Proxy::new(ProxyKind::Socks5h, "h", 1).with_credentials(long, "p");
    assert!(matches!(
        long_user.handshake(&target),
        Err(ProxyError::InvalidInput(_))
    ));
}
