//! Unit tests of signature checking (one accepted form per signature), of the audience the dynamic
//! price rule reads (audit 7), and of refusals that happen before another contract is called. The
//! tab's planning and life are in tab_tests.rs; settling against a real registry, pricing engine and
//! payment handler runs on the local chain (tests/e2e/tabs.test.ts, tests/e2e/attacks.test.ts).

use crate::tab::tab_voucher_payload;
use crate::tick_stream::*;
use ink::env::hash::{Blake2x256, HashOutput};
use ink::primitives::AccountId;
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

fn contract_addr() -> AccountId {
    AccountId::from([0xC0; 32])
}

/// A session key from a seed byte (shared with tab_tests.rs).
pub(crate) fn key(seed: u8) -> (SecretKey, SessionKey) {
    let sk = SecretKey::from_slice(&[seed; 32]).unwrap();
    (sk, PublicKey::from_secret_key(SECP256K1, &sk).serialize())
}

/// A tab voucher's payload: tab 1, watch 0 of stream 1 at 10 plancks/s, `ticks` seconds.
fn payload(contract: AccountId, ticks: u64) -> Vec<u8> {
    tab_voucher_payload([9; 32], contract, 1, &[(0, 1, 10, ticks)])
}

/// Signs `payload` the way the browser does: ECDSA over its blake2-256 hash, RSV with v ∈ {0, 1}
/// (shared with tab_tests.rs).
pub(crate) fn sign(sk: &SecretKey, payload: &[u8]) -> Signature {
    let mut hash = <Blake2x256 as HashOutput>::Type::default();
    ink::env::hash_bytes::<Blake2x256>(payload, &mut hash);
    let (rec, sig) = SECP256K1
        .sign_ecdsa_recoverable(&Message::from_digest_slice(&hash).unwrap(), sk)
        .serialize_compact();
    let mut signature = [0u8; 65];
    signature[..64].copy_from_slice(&sig);
    signature[64] = rec.to_i32() as u8;
    signature
}

#[ink::test]
fn a_signature_recovers_the_key_that_made_it_and_no_other() {
    let (sk, pk) = key(1);
    let p = payload(contract_addr(), 10);
    assert_eq!(recover_signer(&sign(&sk, &p), &p), Ok(pk));
    let (other, _) = key(2);
    assert_ne!(recover_signer(&sign(&other, &p), &p), Ok(pk));
}

#[ink::test]
fn a_raised_count_or_another_contract_recovers_another_key() {
    let (sk, pk) = key(1);
    let sig = sign(&sk, &payload(contract_addr(), 10));
    assert_ne!(recover_signer(&sig, &payload(contract_addr(), 10_000)), Ok(pk));
    assert_ne!(recover_signer(&sig, &payload(AccountId::from([0xC1; 32]), 10)), Ok(pk));
}

/// A zero (r, s) is refused by the chain's ecdsa_recover; ink!'s off-chain emulator panics on it
/// instead, so that case is tested on the local chain (tests/e2e/attacks.test.ts).
#[ink::test]
fn a_signature_with_an_impossible_recovery_id_is_refused_without_panicking() {
    let (sk, _) = key(1);
    let p = payload(contract_addr(), 10);
    let mut sig = sign(&sk, &p);
    sig[64] = 0xFF;
    assert_eq!(recover_signer(&sig, &p), Err(Error::BadSignature));
    assert_eq!(recover_signer(&[0xFF; 65], &p), Err(Error::BadSignature));
}

/// The other of a signature's two valid forms: s' = n − s, with the recovery id flipped.
fn high_s_twin(signature: &Signature) -> Signature {
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE,
        0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
    ];
    let mut twin = *signature;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(signature[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        twin[32 + i] = u8::try_from(d + 256 * borrow).unwrap();
    }
    twin[64] ^= 1;
    twin
}

#[ink::test]
fn a_signatures_twin_forms_are_refused_by_name() {
    let (sk, pk) = key(1);
    let p = payload(contract_addr(), 10);
    let sig = sign(&sk, &p);
    assert_eq!(recover_signer(&sig, &p), Ok(pk));
    // The high-s twin recovers the same key: refused, so that each voucher has one signature.
    assert_eq!(recover_signer(&high_s_twin(&sig), &p), Err(Error::NonCanonicalSignature));
    // The Ethereum-style recovery id (27/28) of the same signature.
    let mut eth = sig;
    eth[64] += 27;
    assert_eq!(recover_signer(&eth, &p), Err(Error::NonCanonicalSignature));
}

#[test]
fn hourly_earnings_roll_over_and_the_previous_hour_is_what_counts() {
    let e = HourlyEarnings::default().add(100, 7).add(100, 5);
    assert_eq!(e, HourlyEarnings { hour: 100, this_hour: 12, last_hour: 0 });
    // During hour 100 the audience is hour 99's (none); during hour 101 it is hour 100's.
    assert_eq!(e.previous_to(100), 0);
    assert_eq!(e.previous_to(101), 12);
    // An hour with nothing settled in between: hour 100 is two hours back, so nothing counts.
    assert_eq!(e.previous_to(102), 0);
    let next = e.add(101, 3);
    assert_eq!(next, HourlyEarnings { hour: 101, this_hour: 3, last_hour: 12 });
    assert_eq!(next.add(103, 1), HourlyEarnings { hour: 103, this_hour: 1, last_hour: 0 });
}

fn contract() -> TickStream {
    TickStream::new(AccountId::from([1; 32]), AccountId::from([2; 32]), AccountId::from([3; 32]), [9; 32].into(), 60_000)
        .unwrap()
}

#[ink::test]
fn rates_for_more_streams_than_the_limit_is_a_named_error() {
    let c = contract();
    assert_eq!(c.rates(vec![1; MAX_RATES as usize + 1]), Err(Error::BatchTooLarge { max: MAX_RATES }));
}
