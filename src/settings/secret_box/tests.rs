use super::*;

/// Hands out the given nonce bytes, so sealed text is deterministic.
struct Fixed(u8);

impl NonceSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), SealError> {
        buf.fill(self.0);
        Ok(())
    }
}

struct Broken;

impl NonceSource for Broken {
    fn fill(&mut self, _: &mut [u8]) -> Result<(), SealError> {
        Err(SealError::NoRandom)
    }
}

fn key(byte: u8) -> SettingsKey {
    SettingsKey::parse(&Base64::encode_string(&[byte; 32])).unwrap()
}

const SECRET: &str = "s3cr3t-client-secret-value-abcd";

#[test]
fn secret_box_round_trips_for_the_same_key_and_tenant() {
    let k = key(7);
    let sealed = seal(
        &k,
        "acme-prod",
        Purpose::ClientSecret,
        SECRET,
        &mut Fixed(1),
    )
    .unwrap();
    assert!(sealed.starts_with("v1:"), "{sealed}");
    assert!(!sealed.contains(SECRET));
    assert_eq!(
        open(&k, "acme-prod", Purpose::ClientSecret, &sealed)
            .unwrap()
            .expose(),
        SECRET
    );
    // An empty secret seals and opens too (the form refuses it; this layer does not care).
    let empty = seal(&k, "acme-prod", Purpose::ClientSecret, "", &mut Fixed(1)).unwrap();
    assert_eq!(
        open(&k, "acme-prod", Purpose::ClientSecret, &empty)
            .unwrap()
            .expose(),
        ""
    );
}

#[test]
fn secret_box_uses_the_nonce_it_is_given_and_a_fresh_one_from_the_os() {
    let k = key(7);
    let a = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(1)).unwrap();
    assert_eq!(
        a,
        seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(1)).unwrap()
    );
    assert_ne!(
        a,
        seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(2)).unwrap()
    );
    let x = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut OsRandom).unwrap();
    let y = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut OsRandom).unwrap();
    assert_ne!(x, y, "two seals of one secret must differ (fresh nonce)");
    assert_eq!(
        open(&k, "t", Purpose::ClientSecret, &x).unwrap().expose(),
        SECRET
    );
    assert_eq!(
        open(&k, "t", Purpose::ClientSecret, &y).unwrap().expose(),
        SECRET
    );
}

#[test]
fn secret_box_refuses_a_wrong_key() {
    let sealed = seal(
        &key(7),
        "acme-prod",
        Purpose::ClientSecret,
        SECRET,
        &mut Fixed(1),
    )
    .unwrap();
    assert_eq!(
        open(&key(8), "acme-prod", Purpose::ClientSecret, &sealed),
        Err(OpenError::Rejected)
    );
}

#[test]
fn secret_box_refuses_another_tenants_record() {
    let k = key(7);
    let sealed = seal(
        &k,
        "acme-prod",
        Purpose::ClientSecret,
        SECRET,
        &mut Fixed(1),
    )
    .unwrap();
    assert_eq!(
        open(&k, "acme-dev", Purpose::ClientSecret, &sealed),
        Err(OpenError::Rejected)
    );
    assert_eq!(
        open(&k, "", Purpose::ClientSecret, &sealed),
        Err(OpenError::Rejected)
    );
}

#[test]
fn secret_box_refuses_every_altered_byte() {
    let k = key(7);
    let sealed = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(1)).unwrap();
    let record = Base64::decode_vec(sealed.strip_prefix("v1:").unwrap()).unwrap();
    for i in 0..record.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = record.clone();
            bad[i] ^= bit;
            let text = format!("v1:{}", Base64::encode_string(&bad));
            assert_eq!(
                open(&k, "t", Purpose::ClientSecret, &text),
                Err(OpenError::Rejected),
                "byte {i}"
            );
        }
    }
    // Dropping the tag's last byte or appending one is refused as well.
    let short = format!("v1:{}", Base64::encode_string(&record[..record.len() - 1]));
    assert_eq!(
        open(&k, "t", Purpose::ClientSecret, &short),
        Err(OpenError::Rejected)
    );
    let mut long = record.clone();
    long.push(0);
    let long = format!("v1:{}", Base64::encode_string(&long));
    assert_eq!(
        open(&k, "t", Purpose::ClientSecret, &long),
        Err(OpenError::Rejected)
    );
}

#[test]
fn secret_box_refuses_text_that_is_not_a_record() {
    let k = key(7);
    let sealed = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(1)).unwrap();
    let body = sealed.strip_prefix("v1:").unwrap();
    for text in [
        "",
        SECRET,
        body,
        &format!("v2:{body}"),
        "v1:",
        "v1:not base64!",
        &format!("v1:{}", Base64::encode_string(&[0u8; 27])),
    ] {
        assert_eq!(
            open(&k, "t", Purpose::ClientSecret, text),
            Err(OpenError::Malformed),
            "{text:?}"
        );
    }
}

#[test]
fn secret_box_reports_a_missing_random_source() {
    assert_eq!(
        seal(&key(7), "t", Purpose::ClientSecret, SECRET, &mut Broken),
        Err(SealError::NoRandom)
    );
}

#[test]
fn settings_key_is_read_strictly_and_errors_say_how_to_make_one() {
    let from = |v: &str| {
        let v = v.to_string();
        SettingsKey::from_settings(&move |n: &str| (n == "SETTINGS_KEY").then(|| v.clone()))
    };
    let good = Base64::encode_string(&[9u8; 32]);
    assert!(from(&good).unwrap().is_some());
    assert!(from(&format!(" {good}\n")).unwrap().is_some());
    assert!(from("").unwrap().is_none());
    assert!(from("   ").unwrap().is_none());
    assert!(
        SettingsKey::from_settings(&|_: &str| None::<String>)
            .unwrap()
            .is_none()
    );
    let short = Base64::encode_string(&[9u8; 16]);
    let long = Base64::encode_string(&[9u8; 33]);
    let unpadded = good.trim_end_matches('=').to_string();
    let url_safe = Base64::encode_string(&[0xfbu8; 32])
        .replace('+', "-")
        .replace('/', "_");
    for bad in [
        short.as_str(),
        long.as_str(),
        unpadded.as_str(),
        url_safe.as_str(),
        "not a key at all",
        "0123456789abcdef0123456789abcdef",
    ] {
        let err = from(bad).unwrap_err();
        assert_eq!(err.setting, "SETTINGS_KEY", "{bad}");
        assert!(err.problem.contains(MAKE_SETTINGS_KEY), "{}", err.problem);
        assert!(!err.to_string().contains(bad), "error echoes the value");
    }
}

#[test]
fn settings_key_and_opened_secret_hide_their_values_in_debug() {
    let k = key(0x41);
    let text = format!("{k:?}");
    assert_eq!(text, "SettingsKey(<redacted>)");
    let sealed = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(1)).unwrap();
    let opened = open(&k, "t", Purpose::ClientSecret, &sealed).unwrap();
    assert!(!format!("{opened:?}").contains(SECRET));
    for e in [OpenError::Malformed, OpenError::Rejected] {
        assert!(!e.to_string().contains(SECRET));
    }
}

#[test]
fn secret_box_refuses_a_record_sealed_for_another_purpose() {
    let k = key(7);
    let sealed = seal(&k, "t", Purpose::ClientSecret, SECRET, &mut Fixed(1)).unwrap();
    assert_eq!(
        open(&k, "t", Purpose::ClientSecret, &sealed)
            .unwrap()
            .expose(),
        SECRET
    );
    for other in [Purpose::LogStreamToken, Purpose::EventStreamToken] {
        assert!(matches!(
            open(&k, "t", other, &sealed),
            Err(OpenError::Rejected)
        ));
    }
}
