//! permessage-deflate parameters (RFC 7692 7.1): parsing offers and responses, the server's
//! choice, and the check that a response answers an offer.

use super::{DeflateConfig, DeflateParams, EXTENSION_NAME, clamp_bits};
use crate::handshake::ExtensionOffer;

/// Whether an extension name is `permessage-deflate` (ASCII case-insensitive).
pub(crate) fn is_deflate(name: &str) -> bool {
    name.eq_ignore_ascii_case(EXTENSION_NAME)
}

/// One offer's or response's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (only valid in an offer).
    client_max_window_bits: Option<Option<u8>>,
}

/// A window-bits value: exactly `8` to `15`, no sign or leading zero (a quoted-string is
/// already unescaped by the list parser).
fn window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// Parses the parameters of a `permessage-deflate` element. In a response,
/// `client_max_window_bits` needs a value. Unknown, duplicate or malformed parameters are
/// an error (a server declines such an offer; a client fails on such a response).
fn parse(ext: &ExtensionOffer, response: bool) -> Result<Parsed, &'static str> {
    let mut p = Parsed::default();
    let mut seen = [false; 4];
    for param in &ext.params {
        let name = param.name.as_str();
        let value = param.value.as_deref();
        let slot = [
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
        ]
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .ok_or("unknown permessage-deflate parameter")?;
        if core::mem::replace(&mut seen[slot], true) {
            return Err("duplicate permessage-deflate parameter");
        }
        let bits = |v: Option<&str>| v.and_then(window_bits).ok_or("window bits must be 8 to 15");
        match slot {
            0 | 1 if value.is_some() => return Err("no_context_takeover takes no value"),
            0 => p.server_no_context_takeover = true,
            1 => p.client_no_context_takeover = true,
            2 => p.server_max_window_bits = Some(bits(value)?),
            _ => {
                p.client_max_window_bits = Some(match value {
                    None if response => return Err("client_max_window_bits needs a value"),
                    None => None,
                    v => Some(bits(v)?),
                })
            }
        }
    }
    Ok(p)
}

/// The server's choice: the first `permessage-deflate` offer (in the client's order of
/// preference) that is well formed, answered as `config` asks (see the module table). Every
/// well-formed offer is supported, window bits 8 included. `None` if there is none.
pub(crate) fn negotiate_offers(
    offers: &[ExtensionOffer],
    config: &DeflateConfig,
) -> Option<DeflateParams> {
    let offer = offers
        .iter()
        .filter(|o| is_deflate(&o.name))
        .find_map(|o| parse(o, false).ok())?;
    let own = clamp_bits(config.server_max_window_bits);
    let server_max_window_bits = match offer.server_max_window_bits {
        Some(asked) => Some(asked.min(own)),
        None => (own < 15).then_some(own),
    };
    let client_max_window_bits = offer.client_max_window_bits.and_then(|offered| {
        let bits = offered
            .unwrap_or(15)
            .min(clamp_bits(config.client_max_window_bits));
        (bits < 15 || offered.is_some()).then_some(bits)
    });
    Some(DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || config.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

/// Checks that `response` (a `permessage-deflate` element) is a valid answer to at least
/// one well-formed `permessage-deflate` element of `offers`, and returns the agreed
/// parameters. Used by a client on the server's response, and by a server on a response
/// its caller wrote by hand. The rules (RFC 7692 7.1.1-7.1.2): no unknown, duplicate or
/// malformed parameter; `server_no_context_takeover` if the offer had it;
/// `server_max_window_bits` if the offer had it, never above the offered value;
/// `client_max_window_bits` only if the offer had it, never above its value.
pub(crate) fn check_response(
    offers: &[ExtensionOffer],
    response: &ExtensionOffer,
) -> Result<DeflateParams, &'static str> {
    let agreed = response_params(response)?;
    let r = parse(response, true)?;
    let answers = |o: &Parsed| {
        let server_ok = match (o.server_max_window_bits, r.server_max_window_bits) {
            (Some(_), None) => false,
            (Some(asked), Some(got)) => got <= asked,
            (None, _) => true,
        };
        let client_ok = match (o.client_max_window_bits, r.client_max_window_bits.flatten()) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(offered), Some(got)) => got <= offered.unwrap_or(15),
        };
        (r.server_no_context_takeover || !o.server_no_context_takeover) && server_ok && client_ok
    };
    let answered = offers
        .iter()
        .filter(|o| is_deflate(&o.name))
        .filter_map(|o| parse(o, false).ok())
        .any(|o| answers(&o));
    if !answered {
        return Err("permessage-deflate response answers no offer");
    }
    Ok(agreed)
}

/// The parameters a `permessage-deflate` response element states (checked as a response,
/// not against an offer: see [`check_response`]).
pub(crate) fn response_params(response: &ExtensionOffer) -> Result<DeflateParams, &'static str> {
    if !is_deflate(&response.name) {
        return Err("not permessage-deflate");
    }
    let r = parse(response, true)?;
    Ok(DeflateParams {
        server_no_context_takeover: r.server_no_context_takeover,
        client_no_context_takeover: r.client_no_context_takeover,
        server_max_window_bits: r.server_max_window_bits,
        client_max_window_bits: r.client_max_window_bits.flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;
    use alloc::vec::Vec;

    fn exts(s: &str) -> Vec<ExtensionOffer> {
        parse_extensions([s.as_bytes()]).unwrap()
    }

    fn server(offer: &str, config: DeflateConfig) -> Option<alloc::string::String> {
        negotiate_offers(&exts(offer), &config).map(|p| p.to_header_value())
    }

    #[test]
    fn public_negotiate_and_from_extensions_agree_with_the_connection() {
        let d = DeflateConfig {
            client_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let offers =
            exts("x-foo, permessage-deflate; x=1, permessage-deflate; client_max_window_bits");
        let params = d.negotiate(&offers).unwrap();
        assert_eq!(params.client_max_window_bits, Some(10));
        assert_eq!(
            params.to_header_value(),
            "permessage-deflate; client_max_window_bits=10"
        );
        assert_eq!(d.negotiate(&exts("x-foo")), None);
        let back = DeflateParams::from_extensions(&exts(&params.to_header_value())).unwrap();
        assert_eq!(back, params);
        assert_eq!(DeflateParams::from_extensions(&exts("x-foo")), None);
        assert_eq!(
            DeflateParams::from_extensions(&exts("permessage-deflate; server_max_window_bits=7")),
            None
        );
    }

    #[test]
    fn window_bits_values() {
        for (v, want) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("10", Some(10)),
            ("15", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("+9", None),
            ("", None),
            ("1", None),
            ("150", None),
        ] {
            assert_eq!(window_bits(v), want, "{v:?}");
        }
    }

    #[test]
    fn server_answers_the_first_acceptable_offer() {
        let d = DeflateConfig::default();
        assert_eq!(
            server("permessage-deflate", d).as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            server("permessage-deflate; client_max_window_bits", d).as_deref(),
            Some("permessage-deflate"),
            "a bare client_max_window_bits needs no answer at 15"
        );
        assert_eq!(
            server(
                "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12; \
                 server_no_context_takeover; client_no_context_takeover",
                d
            )
            .as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits=12"
            )
        );
        // Malformed, duplicate and unknown parameters decline that offer; the next is used.
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=0x9",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
            "permessage-deflate; x=1",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(server(bad, d), None, "{bad}");
            let two = alloc::format!("{bad}, permessage-deflate; server_max_window_bits=\"9\"");
            assert_eq!(
                server(&two, d).as_deref(),
                Some("permessage-deflate; server_max_window_bits=9"),
                "{bad}, then a good offer (its value quoted)"
            );
        }
    }

    #[test]
    fn server_applies_its_own_limits() {
        let cfg = DeflateConfig {
            server_max_window_bits: 11,
            client_max_window_bits: 9,
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        assert_eq!(
            server("permessage-deflate; client_max_window_bits", cfg).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=11; client_max_window_bits=9"
            )
        );
        // A client that cannot limit its window still gets an answer (it may use 15).
        assert_eq!(
            server("permessage-deflate; server_max_window_bits=8", cfg).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8"
            )
        );
    }

    #[test]
    fn every_server_answer_is_a_valid_response_to_its_offer() {
        let flags = [false, true];
        let bits = [None, Some(8u8), Some(9), Some(12), Some(15)];
        for &snct in &flags {
            for &cnct in &flags {
                for &sb in &bits {
                    for cb in [
                        None,
                        Some(None),
                        Some(Some(8u8)),
                        Some(Some(11)),
                        Some(Some(15)),
                    ] {
                        let mut offer = ExtensionOffer::new("permessage-deflate");
                        if snct {
                            offer = offer.with_param("server_no_context_takeover", None);
                        }
                        if cnct {
                            offer = offer.with_param("client_no_context_takeover", None);
                        }
                        if let Some(b) = sb {
                            offer = offer.with_param("server_max_window_bits", Some(b.to_string()));
                        }
                        if let Some(v) = cb {
                            offer = offer
                                .with_param("client_max_window_bits", v.map(|b| b.to_string()));
                        }
                        for cfg_bits in [8u8, 10, 15] {
                            let cfg = DeflateConfig {
                                server_max_window_bits: cfg_bits,
                                client_max_window_bits: cfg_bits,
                                ..DeflateConfig::default()
                            };
                            let offers = [offer.clone()];
                            let p = negotiate_offers(&offers, &cfg).expect("well formed");
                            let resp = exts(&p.to_header_value()).remove(0);
                            assert_eq!(check_response(&offers, &resp), Ok(p), "{offer}");
                            if let Some(b) = sb {
                                assert!(p.server_max_window_bits.unwrap() <= b);
                            }
                        }
                    }
                }
            }
        }
    }

    use alloc::string::ToString;

    #[test]
    fn client_refuses_responses_no_offer_allows() {
        let offers = exts(
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover, permessage-deflate",
        );
        let ok = |r: &str| check_response(&offers, &exts(r).remove(0));
        assert!(ok("permessage-deflate").is_ok(), "answers the second offer");
        assert!(ok("permessage-deflate; server_max_window_bits=12").is_ok());
        let only_first =
            exts("permessage-deflate; server_max_window_bits=10; server_no_context_takeover");
        let strict = |r: &str| check_response(&only_first, &exts(r).remove(0));
        assert!(
            strict("permessage-deflate; server_max_window_bits=10; server_no_context_takeover")
                .is_ok()
        );
        assert!(strict("permessage-deflate; server_max_window_bits=9; server_no_context_takeover; client_no_context_takeover").is_ok());
        for bad in [
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=11; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover; client_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover; x",
            "permessage-deflate; server_max_window_bits=010; server_no_context_takeover",
        ] {
            assert!(strict(bad).is_err(), "{bad}");
        }
        let with_client = exts("permessage-deflate; client_max_window_bits=12");
        let c = |r: &str| check_response(&with_client, &exts(r).remove(0));
        assert!(c("permessage-deflate; client_max_window_bits=12").is_ok());
        assert!(c("permessage-deflate; client_max_window_bits=8").is_ok());
        assert!(c("permessage-deflate; client_max_window_bits=13").is_err());
        assert!(
            c("permessage-deflate; client_max_window_bits").is_err(),
            "needs a value"
        );
    }

    #[test]
    fn offers_are_well_formed_and_accepted() {
        for snct in [false, true] {
            for bits in [8u8, 9, 12, 15, 0, 200] {
                let cfg = DeflateConfig {
                    server_no_context_takeover: snct,
                    client_no_context_takeover: !snct,
                    server_max_window_bits: bits,
                    client_max_window_bits: bits,
                    ..DeflateConfig::default()
                };
                let offer = cfg.offer();
                let parsed = exts(&offer);
                assert_eq!(parsed.len(), 1);
                assert!(parse(&parsed[0], false).is_ok(), "{offer}");
                let p = negotiate_offers(&parsed, &DeflateConfig::default()).unwrap();
                assert_eq!(p.server_no_context_takeover, snct);
                assert_eq!(
                    p.server_max_window_bits,
                    (clamp_bits(bits) < 15).then_some(clamp_bits(bits))
                );
            }
        }
    }
}
