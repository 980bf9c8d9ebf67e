//! Unit tests of voucher checking and of every refusal that happens before another contract is
//! called. Joining, charging and leaving call the registry, pricing engine and payment handler — calls
//! the off-chain environment cannot make — so those journeys run end to end on the local chain
//! (tests/e2e/protocol.test.ts), one test per attack.

use crate::tick_stream::*;
use ink::env::hash::{Blake2x256, HashOutput};
use ink::env::{test, DefaultEnvironment as E};
use ink::primitives::AccountId;
use secp256k1::{Message, PublicKey, SecretKey, SECP256K1};

fn contract_addr() -> AccountId {
    AccountId::from([0xC0; 32])
}
fn viewer() -> AccountId {
    AccountId::from([0xB0; 32])
}

fn key(seed: u8) -> (SecretKey, SessionKey) {
    let sk = SecretKey::from_slice(&[seed; 32]).unwrap();
    (sk, PublicKey::from_secret_key(SECP256K1, &sk).serialize())
}

fn session(id: u64, session_key: SessionKey, settled: u64) -> Session {
    Session {
        id,
        session_key,
        creator: AccountId::from([0xA0; 32]),
        rate_per_second: 10,
        ticks_settled: settled,
        joined_at_ms: 0,
        last_activity_ms: 0,
    }
}

fn voucher(stream_id: u64, session_id: u64, cumulative_ticks: u64) -> Voucher {
    Voucher { stream_id, viewer: viewer(), session_id, cumulative_ticks }
}

/// Signs `v` for `contract` the way the browser does: ECDSA over blake2-256 of the payload.
fn sign(sk: &SecretKey, contract: AccountId, v: Voucher) -> SignedVoucher {
    let mut hash = <Blake2x256 as HashOutput>::Type::default();
    ink::env::hash_bytes::<Blake2x256>(&voucher_payload(contract, &v), &mut hash);
    let (rec, sig) = SECP256K1
        .sign_ecdsa_recoverable(&Message::from_digest_slice(&hash).unwrap(), sk)
        .serialize_compact();
    let mut signature = [0u8; 65];
    signature[..64].copy_from_slice(&sig);
    signature[64] = rec.to_i32() as u8;
    SignedVoucher { voucher: v, signature }
}

#[ink::test]
fn a_signed_voucher_counts_the_seconds_above_the_settled_count() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 40);
    assert_eq!(new_ticks(contract_addr(), &s, &sign(&sk, contract_addr(), voucher(1, 7, 55))), Ok(15));
}

#[ink::test]
fn only_the_highest_count_matters_a_stale_voucher_adds_nothing() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 40);
    assert_eq!(new_ticks(contract_addr(), &s, &sign(&sk, contract_addr(), voucher(1, 7, 40))), Ok(0));
    assert_eq!(new_ticks(contract_addr(), &s, &sign(&sk, contract_addr(), voucher(1, 7, 3))), Ok(0));
}

#[ink::test]
fn a_voucher_signed_by_another_key_is_refused() {
    let (_, pk) = key(1);
    let (other, _) = key(2);
    let s = session(7, pk, 0);
    assert_eq!(new_ticks(contract_addr(), &s, &sign(&other, contract_addr(), voucher(1, 7, 10))), Err(Error::BadSignature));
}

#[ink::test]
fn a_voucher_replayed_on_another_stream_is_refused() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 0);
    let mut replay = sign(&sk, contract_addr(), voucher(1, 7, 10));
    replay.voucher.stream_id = 2;
    assert_eq!(new_ticks(contract_addr(), &s, &replay), Err(Error::BadSignature));
}

#[ink::test]
fn a_voucher_replayed_on_another_contract_is_refused() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 0);
    let other_contract = AccountId::from([0xC1; 32]);
    let signed = sign(&sk, other_contract, voucher(1, 7, 10));
    assert_eq!(new_ticks(contract_addr(), &s, &signed), Err(Error::BadSignature));
}

#[ink::test]
fn a_voucher_of_another_session_is_refused() {
    let (sk, pk) = key(1);
    let s = session(8, pk, 0);
    let old = sign(&sk, contract_addr(), voucher(1, 7, 10));
    assert_eq!(new_ticks(contract_addr(), &s, &old), Err(Error::WrongSession { expected: 8, got: 7 }));
    // Relabelling the old voucher with the new session id breaks its signature.
    let mut relabelled = old;
    relabelled.voucher.session_id = 8;
    assert_eq!(new_ticks(contract_addr(), &s, &relabelled), Err(Error::BadSignature));
}

#[ink::test]
fn a_raised_count_breaks_the_signature() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 0);
    let mut forged = sign(&sk, contract_addr(), voucher(1, 7, 10));
    forged.voucher.cumulative_ticks = 10_000;
    assert_eq!(new_ticks(contract_addr(), &s, &forged), Err(Error::BadSignature));
}

/// A zero (r, s) is refused by the chain's ecdsa_recover; ink!'s off-chain emulator panics on it
/// instead, so that case is tested on the local chain (tests/e2e/attacks.test.ts).
#[ink::test]
fn a_signature_with_an_impossible_recovery_id_is_refused_without_panicking() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 0);
    let mut v = sign(&sk, contract_addr(), voucher(1, 7, 10));
    v.signature[64] = 0xFF;
    assert_eq!(new_ticks(contract_addr(), &s, &v), Err(Error::BadSignature));
    v.signature = [0xFF; 65];
    assert_eq!(new_ticks(contract_addr(), &s, &v), Err(Error::BadSignature));
}

#[ink::test]
fn the_payload_binds_domain_contract_stream_viewer_session_and_count() {
    let p = voucher_payload(contract_addr(), &voucher(1, 7, 10));
    assert_eq!(&p[..16], &VOUCHER_DOMAIN);
    assert_eq!(&p[16..48], &[0xC0; 32]);
    assert_eq!(&p[48..56], &1u64.to_le_bytes());
    assert_eq!(&p[56..88], &[0xB0; 32]);
    assert_eq!(&p[88..96], &7u64.to_le_bytes());
    assert_eq!(&p[96..104], &10u64.to_le_bytes());
    assert_eq!(p.len(), 104);
}

fn contract() -> TickStream {
    test::set_caller::<E>(viewer());
    TickStream::new(AccountId::from([1; 32]), AccountId::from([2; 32]), AccountId::from([3; 32]))
}

#[ink::test]
fn join_refuses_a_malformed_session_key() {
    let mut c = contract();
    let mut bad = key(1).1;
    bad[0] = 0x04;
    assert_eq!(c.join_stream(1, bad, 100, false), Err(Error::InvalidSessionKey));
}

#[ink::test]
fn vouchers_without_a_session_are_refused_one_by_one() {
    let mut c = contract();
    let (sk, _) = key(1);
    let me = ink::env::account_id::<E>();
    let out = c
        .record_ticks_batch(vec![sign(&sk, me, voucher(1, 1, 5)), sign(&sk, me, voucher(2, 1, 5))])
        .unwrap();
    assert_eq!(out, vec![
        Err(Error::NoSession { stream_id: 1, viewer: viewer() }),
        Err(Error::NoSession { stream_id: 2, viewer: viewer() }),
    ]);
    assert_eq!(c.stream_ticks(1), 0);
}

#[ink::test]
fn each_refused_voucher_of_a_batch_is_in_the_block_with_its_reason() {
    let mut c = contract();
    let (sk, _) = key(1);
    let me = ink::env::account_id::<E>();
    let before = test::recorded_events().count();
    c.record_ticks_batch(vec![sign(&sk, me, voucher(1, 7, 5)), sign(&sk, me, voucher(2, 8, 9))])
        .unwrap();
    let refused: Vec<VoucherRefused> = test::recorded_events()
        .skip(before)
        .map(|e| <VoucherRefused as ink::scale::Decode>::decode(&mut &e.data[..]).expect("a VoucherRefused event"))
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!((refused[0].stream_id, refused[0].session_id, refused[0].cumulative_ticks), (1, 7, 5));
    assert_eq!(refused[0].error, Error::NoSession { stream_id: 1, viewer: viewer() });
    assert_eq!((refused[1].stream_id, refused[1].session_id, refused[1].cumulative_ticks), (2, 8, 9));
}

#[ink::test]
fn a_batch_past_the_limit_is_refused() {
    let mut c = contract();
    let (sk, _) = key(1);
    let one = sign(&sk, contract_addr(), voucher(1, 1, 1));
    let too_many = vec![one; MAX_BATCH as usize + 1];
    assert_eq!(c.record_ticks_batch(too_many), Err(Error::BatchTooLarge { max: MAX_BATCH }));
}

#[ink::test]
fn leaving_or_ending_a_session_that_does_not_exist_is_a_named_error() {
    let mut c = contract();
    assert_eq!(c.leave_stream(1, None, false), Err(Error::NoSession { stream_id: 1, viewer: viewer() }));
    assert_eq!(c.end_idle_session(1, viewer()), Err(Error::NoSession { stream_id: 1, viewer: viewer() }));
    assert_eq!(c.session_of(1, viewer()), None);
    assert_eq!(c.live_viewers(1), 0);
}

/// The other of a signature's two valid forms: s' = n − s, with the recovery id flipped.
fn high_s_twin(signed: &SignedVoucher) -> SignedVoucher {
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE,
        0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
    ];
    let mut twin = signed.clone();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(signed.signature[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        twin.signature[32 + i] = u8::try_from(d + 256 * borrow).unwrap();
    }
    twin.signature[64] ^= 1;
    twin
}

#[ink::test]
fn a_signatures_twin_forms_are_refused_by_name() {
    let (sk, pk) = key(1);
    let s = session(7, pk, 0);
    let v = sign(&sk, contract_addr(), voucher(1, 7, 10));
    assert_eq!(new_ticks(contract_addr(), &s, &v), Ok(10));
    // The high-s twin recovers the same key: refused, so that each voucher has one signature.
    assert_eq!(new_ticks(contract_addr(), &s, &high_s_twin(&v)), Err(Error::NonCanonicalSignature));
    // The Ethereum-style recovery id (27/28) of the same signature.
    let mut eth = v.clone();
    eth.signature[64] += 27;
    assert_eq!(new_ticks(contract_addr(), &s, &eth), Err(Error::NonCanonicalSignature));
}
