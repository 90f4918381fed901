//! SASL mechanisms as pure exchanges: a challenge from the server in, our response out.
//!
//! The session carries the bytes (base64, 400-byte AUTHENTICATE pieces) and picks the
//! mechanism; here is what each mechanism says. SCRAM-SHA-256 follows RFC 5802/7677 (and
//! checks the server's signature, so a server that does not know our password cannot pretend
//! it does); ECDSA-NIST256P-CHALLENGE is Atheme's: the account name, then a signature of the
//! server's 32-byte challenge with the account's P-256 key. No secret is ever logged here.

use crate::config::Secret;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// The mechanisms we speak, by their IANA names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    External,
    ScramSha256,
    EcdsaNist256pChallenge,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::External => "EXTERNAL",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::EcdsaNist256pChallenge => "ECDSA-NIST256P-CHALLENGE",
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A P-256 private key for ECDSA-NIST256P-CHALLENGE; printing it shows nothing of it.
#[derive(Clone)]
pub struct EcdsaKey(p256::ecdsa::SigningKey);

impl EcdsaKey {
    /// Reads a PEM key: `EC PRIVATE KEY` (SEC1, what `openssl ecparam -genkey` writes, with or
    /// without its `EC PARAMETERS` block) or `PRIVATE KEY` (PKCS#8).
    pub fn from_pem(pem: &str) -> Result<EcdsaKey, String> {
        use p256::pkcs8::DecodePrivateKey;
        let block = |label: &str| {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let start = pem.find(&begin)?;
            let stop = pem[start..].find(&end)? + start + end.len();
            Some(&pem[start..stop])
        };
        let secret = if let Some(sec1) = block("EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(sec1).map_err(|_| "not a P-256 EC private key".to_string())?
        } else if let Some(pkcs8) = block("PRIVATE KEY") {
            p256::SecretKey::from_pkcs8_pem(pkcs8).map_err(|_| "not a P-256 private key (PKCS#8)".to_string())?
        } else {
            return Err("no PEM private key (EC PRIVATE KEY or PRIVATE KEY) in it".into());
        };
        Ok(EcdsaKey(secret.into()))
    }

    /// The public key as Atheme's `NickServ SET PUBKEY` takes it: the compressed point, base64.
    pub fn public_base64(&self) -> String {
        let point = self.0.verifying_key().to_encoded_point(true);
        base64::engine::general_purpose::STANDARD.encode(point.as_bytes())
    }
}

impl fmt::Debug for EcdsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<ecdsa key>")
    }
}

/// What we log in with; each mechanism uses what it needs of it.
#[derive(Clone, Default)]
pub struct Credentials {
    pub account: String,
    pub password: Option<Secret>,
    pub key: Option<EcdsaKey>,
}

/// One mechanism's exchange in progress.
pub enum Exchange {
    /// PLAIN and EXTERNAL: one response, then nothing more to say.
    OneShot {
        response: Option<Vec<u8>>,
    },
    Scram(Scram),
    Ecdsa {
        account: String,
        key: Option<EcdsaKey>,
        sent_account: bool,
    },
}

impl Exchange {
    /// Starts `mechanism` for `credentials`; `nonce` is SCRAM's fresh client nonce.
    pub fn start(mechanism: Mechanism, credentials: &Credentials, nonce: &str) -> Exchange {
        let account = credentials.account.clone();
        match mechanism {
            Mechanism::Plain => {
                let password = credentials.password.as_ref().map(Secret::expose).unwrap_or("");
                Exchange::OneShot { response: Some(format!("{account}\0{account}\0{password}").into_bytes()) }
            }
            Mechanism::External => Exchange::OneShot { response: Some(Vec::new()) },
            Mechanism::ScramSha256 => Exchange::Scram(Scram::new(
                &account,
                credentials.password.clone().unwrap_or_else(|| Secret(String::new())),
                nonce,
            )),
            Mechanism::EcdsaNist256pChallenge => {
                Exchange::Ecdsa { account, key: credentials.key.clone(), sent_account: false }
            }
        }
    }

    /// Our answer to the server's next challenge (decoded; empty for `+`). An error means the
    /// exchange must be aborted (`AUTHENTICATE *`), with the reason to log.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Exchange::OneShot { response } => {
                response.take().ok_or_else(|| "the server asked for more than one response".to_string())
            }
            Exchange::Scram(s) => s.respond(challenge),
            Exchange::Ecdsa { account, key, sent_account } => {
                if !*sent_account {
                    *sent_account = true;
                    return Ok(account.clone().into_bytes());
                }
                let key = key.as_ref().ok_or("no key_file for ECDSA-NIST256P-CHALLENGE")?;
                ecdsa_sign(key, challenge)
            }
        }
    }
}

/// Signs Atheme's challenge: the 32 bytes are the digest itself (Atheme checks them with
/// OpenSSL's `ECDSA_verify`, which takes a digest), the signature DER-encoded.
pub fn ecdsa_sign(key: &EcdsaKey, challenge: &[u8]) -> Result<Vec<u8>, String> {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    if challenge.len() != 32 {
        return Err(format!("ECDSA challenge of {} bytes, expected 32", challenge.len()));
    }
    let signature: p256::ecdsa::Signature =
        key.0.sign_prehash(challenge).map_err(|_| "cannot sign the ECDSA challenge".to_string())?;
    Ok(signature.to_der().as_bytes().to_vec())
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) from the client's side, without channel binding.
pub struct Scram {
    password: Secret,
    client_first_bare: String,
    nonce: String,
    step: ScramStep,
}

enum ScramStep {
    ClientFirst,
    ClientFinal,
    /// The signature the server must show in its final message.
    Verify([u8; 32]),
    Done,
}

impl Scram {
    pub fn new(account: &str, password: Secret, nonce: &str) -> Scram {
        // saslname: '=' and ',' are escaped (RFC 5802 5.1). SASLprep is the identity for the
        // ASCII names and passwords IRC accounts use.
        let name = account.replace('=', "=3D").replace(',', "=2C");
        Scram {
            password,
            client_first_bare: format!("n={name},r={nonce}"),
            nonce: nonce.to_string(),
            step: ScramStep::ClientFirst,
        }
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, String> {
        match std::mem::replace(&mut self.step, ScramStep::Done) {
            ScramStep::ClientFirst => {
                self.step = ScramStep::ClientFinal;
                Ok(format!("n,,{}", self.client_first_bare).into_bytes())
            }
            ScramStep::ClientFinal => {
                let server_first = std::str::from_utf8(challenge).map_err(|_| "SCRAM server-first is not UTF-8")?;
                let (final_message, server_signature) = self.client_final(server_first)?;
                self.step = ScramStep::Verify(server_signature);
                Ok(final_message.into_bytes())
            }
            ScramStep::Verify(expected) => {
                let server_final = std::str::from_utf8(challenge).map_err(|_| "SCRAM server-final is not UTF-8")?;
                verify_server_final(server_final, &expected)?;
                Ok(Vec::new())
            }
            ScramStep::Done => Err("the server went on after SCRAM ended".into()),
        }
    }

    /// The client-final message for `server_first`, and the server signature to expect.
    fn client_final(&self, server_first: &str) -> Result<(String, [u8; 32]), String> {
        let attr =
            |name: &str| server_first.split(',').find_map(|a| a.strip_prefix(name).and_then(|v| v.strip_prefix('=')));
        if let Some(e) = attr("e") {
            return Err(format!("the server refused SCRAM: {e}"));
        }
        if server_first.starts_with("m=") {
            return Err("SCRAM extension required by the server is not supported".into());
        }
        let nonce = attr("r").ok_or("SCRAM server-first without a nonce")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("SCRAM server nonce does not extend ours".into());
        }
        let salt = attr("s")
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .ok_or("SCRAM server-first without a valid salt")?;
        let rounds: u32 =
            attr("i").and_then(|i| i.parse().ok()).filter(|i| *i > 0).ok_or("SCRAM bad iteration count")?;
        // Atheme's default is 64000 rounds; far more is a server making us burn CPU.
        if rounds > 1_000_000 {
            return Err(format!("SCRAM iteration count {rounds} is unreasonably high"));
        }
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2::<HmacSha256>(self.password.expose().as_bytes(), &salt, rounds, &mut salted)
            .map_err(|_| "PBKDF2 failed")?;
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(client_signature).map(|(k, s)| k ^ s).collect();
        let server_key = hmac(&salted, b"Server Key");
        let server_signature = hmac(&server_key, auth_message.as_bytes());
        let proof = base64::engine::general_purpose::STANDARD.encode(proof);
        Ok((format!("{without_proof},p={proof}"), server_signature))
    }
}

fn verify_server_final(server_final: &str, expected: &[u8; 32]) -> Result<(), String> {
    if let Some(e) = server_final.strip_prefix("e=") {
        return Err(format!("the server refused SCRAM: {e}"));
    }
    let shown = server_final
        .split(',')
        .find_map(|a| a.strip_prefix("v="))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .ok_or("SCRAM server-final without a signature")?;
    // Not secret (it is the server's proof to us), so a plain comparison is fine.
    if shown != expected {
        return Err("SCRAM server signature is wrong: the server does not know our password".into());
    }
    Ok(())
}

/// A fresh SCRAM client nonce: 24 random bytes from the OS, base64 (printable, no comma).
pub fn fresh_nonce() -> String {
    let mut bytes = [0u8; 24];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No OS randomness is not worth refusing to log in over; the nonce need only be fresh.
        bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl crate::config::SaslConfig {
    /// The ECDSA key from `key_file`.
    pub fn resolve_key(&self) -> Result<Option<EcdsaKey>, String> {
        let Some(path) = &self.key_file else { return Ok(None) };
        let pem = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {}", path.display(), e.kind()))?;
        EcdsaKey::from_pem(&pem).map(Some).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 7677 section 3, with its client nonce.
    const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_exchange() -> Exchange {
        let creds = Credentials { account: "user".into(), password: Some(Secret("pencil".into())), key: None };
        Exchange::start(Mechanism::ScramSha256, &creds, NONCE)
    }

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut x = rfc_exchange();
        assert_eq!(text(x.respond(b"").unwrap()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(text(x.respond(SERVER_FIRST.as_bytes()).unwrap()), CLIENT_FINAL);
        assert_eq!(x.respond(SERVER_FINAL.as_bytes()).unwrap(), b"");
        assert!(x.respond(b"").is_err(), "nothing after the end");
    }

    #[test]
    fn scram_refuses_a_wrong_server_signature_and_bad_server_messages() {
        let mut x = rfc_exchange();
        x.respond(b"").unwrap();
        x.respond(SERVER_FIRST.as_bytes()).unwrap();
        let forged = "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        assert!(x.respond(forged.as_bytes()).unwrap_err().contains("server signature is wrong"));

        let refused_at = |server_first: &str| {
            let mut x = rfc_exchange();
            x.respond(b"").unwrap();
            x.respond(server_first.as_bytes()).unwrap_err()
        };
        assert!(refused_at("r=someoneelses,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").contains("nonce"));
        assert!(refused_at("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").contains("nonce"));
        assert!(refused_at("r=rOprNGfwEbeRWgbNEkqOx,s=!!,i=4096").contains("salt"));
        assert!(refused_at("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0").contains("iteration"));
        assert!(refused_at("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999").contains("iteration"));
        assert!(refused_at("e=unknown-user").contains("unknown-user"));
        // The server's final message refusing: an error too.
        let mut x = rfc_exchange();
        x.respond(b"").unwrap();
        x.respond(SERVER_FIRST.as_bytes()).unwrap();
        assert!(x.respond(b"e=invalid-proof").unwrap_err().contains("invalid-proof"));
    }

    #[test]
    fn scram_escapes_the_account_name_and_nonces_are_fresh() {
        let x = Scram::new("a=b,c", Secret("p".into()), "n0nce");
        assert_eq!(x.client_first_bare, "n=a=3Db=2Cc,r=n0nce");
        let (a, b) = (fresh_nonce(), fresh_nonce());
        assert_ne!(a, b);
        assert!(a.len() >= 32 && !a.contains(','), "{a}");
    }

    #[test]
    fn plain_and_external_say_one_thing() {
        let creds = Credentials { account: "bot".into(), password: Some(Secret("pw".into())), key: None };
        let mut plain = Exchange::start(Mechanism::Plain, &creds, "");
        assert_eq!(plain.respond(b"").unwrap(), b"bot\0bot\0pw");
        assert!(plain.respond(b"").is_err());
        let mut external = Exchange::start(Mechanism::External, &creds, "");
        assert_eq!(external.respond(b"").unwrap(), b"");
    }

    /// A key made with `openssl ecparam -name prime256v1 -genkey` (SEC1 with its parameters).
    pub(crate) const TEST_KEY: &str = include_str!("../../tests/fixtures/sasl-ecdsa.pem");

    #[test]
    fn ecdsa_sends_the_account_then_a_signature_the_public_key_verifies() {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let key = EcdsaKey::from_pem(TEST_KEY).unwrap();
        let creds = Credentials { account: "bot".into(), password: None, key: Some(key.clone()) };
        let mut x = Exchange::start(Mechanism::EcdsaNist256pChallenge, &creds, "");
        assert_eq!(x.respond(b"").unwrap(), b"bot");
        let challenge = [7u8; 32];
        let der = x.respond(&challenge).unwrap();
        let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
        let public = base64::engine::general_purpose::STANDARD.decode(key.public_base64()).unwrap();
        assert_eq!(public.len(), 33, "compressed point");
        // What the README's openssl command prints for this key.
        assert_eq!(key.public_base64(), "AvgsOy09R/4r8ZzsSEp0DAZaPbn6sjY+IX2Y4p9cFike");
        let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();
        verifying.verify_prehash(&challenge, &signature).unwrap();
        // A challenge of the wrong size is refused, not signed.
        let mut x = Exchange::start(Mechanism::EcdsaNist256pChallenge, &creds, "");
        x.respond(b"").unwrap();
        assert!(x.respond(b"short").unwrap_err().contains("32"));
        // PKCS#8 works too; garbage does not.
        let pkcs8 = {
            use p256::pkcs8::EncodePrivateKey;
            let secret =
                p256::SecretKey::from_sec1_pem(&TEST_KEY[TEST_KEY.find("-----BEGIN EC PRIVATE").unwrap()..]).unwrap();
            secret.to_pkcs8_pem(Default::default()).unwrap().to_string()
        };
        assert_eq!(EcdsaKey::from_pem(&pkcs8).unwrap().public_base64(), key.public_base64());
        assert!(EcdsaKey::from_pem("hello").is_err());
        assert_eq!(format!("{key:?}"), "<ecdsa key>");
    }
}
