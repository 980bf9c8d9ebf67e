//! Tabs (protocol v2): the pure planning of a voucher against a tab, property-tested over random
//! sequences (proptest); the tab's life (open, top up, close, dispute window, finish) in the off-chain
//! environment; and every refusal that happens before another contract is called. Settling against a
//! real registry and payment handler runs on the local chain (tests/e2e/tabs.test.ts).

use crate::tab::*;
use crate::tests::{key, sign as sign_payload};
use crate::tick_stream::*;
use ink::env::{test, DefaultEnvironment as E};
use ink::prelude::collections::BTreeMap;
use ink::primitives::AccountId;
use proptest::prelude::*;
use secp256k1::SecretKey;

const WINDOW: u64 = 60_000;
const CHAIN: [u8; 32] = [9; 32];
/// A deposit above the off-chain environment's existential minimum.
const D: u128 = 1_000_000_000;

fn creator() -> AccountId {
    AccountId::from([0xA0; 32])
}
fn relay() -> AccountId {
    AccountId::from([0xD0; 32])
}
fn terms(stream_id: u64, rate: u128) -> Option<WatchTerms> {
    Some(WatchTerms { stream_id, rate_per_second: rate })
}
fn entry(watch: u32, ticks: u64, t: Option<WatchTerms>) -> TabEntry {
    TabEntry { watch, ticks, terms: t, retire: false }
}
fn tab(balance: u128) -> Tab {
    Tab {
        id: 1,
        viewer: AccountId::from([0xB0; 32]),
        session_key: key(1).1,
        relay: relay(),
        balance,
        next_watch: 0,
        watches: Vec::new(),
        last_activity_ms: 0,
        closing_since_ms: None,
    }
}
fn creators() -> BTreeMap<u64, AccountId> {
    (0..20u64).map(|s| (s, creator())).collect()
}
/// `plan` after `signed_claims`, as the contract runs them (on a copy: an `Err` keeps the tab).
fn settle(t: &mut Tab, entries: &[TabEntry], by_relay: bool, now: u64) -> Result<Vec<WatchCharge>> {
    signed_claims(t, entries)?;
    let mut next = t.clone();
    let charges = plan(&mut next, entries, &creators(), by_relay, now, WINDOW)?;
    *t = next;
    Ok(charges)
}
fn paid(charges: &[WatchCharge]) -> Vec<(u64, u128)> {
    charges.iter().map(|c| (c.paid, c.amount)).collect()
}

#[test]
fn the_payload_binds_domain_chain_contract_tab_and_each_watchs_terms_and_count() {
    // dapp/lib/protocol/tab.test.ts pins the same 125 bytes from the TypeScript side.
    let p = tab_voucher_payload(CHAIN, AccountId::from([0xC0; 32]), 7, &[(0, 3, 10, 30)]);
    assert_eq!(p.len(), 125);
    assert_eq!(&p[..16], b"vilokanam:tab:v2");
    assert_eq!(&p[16..48], &CHAIN);
    assert_eq!(&p[48..80], &[0xC0; 32]);
    assert_eq!(&p[80..88], &7u64.to_le_bytes());
    assert_eq!(p[88], 4, "SCALE compact length 1");
    assert_eq!(&p[89..93], &0u32.to_le_bytes());
    assert_eq!(&p[93..101], &3u64.to_le_bytes());
    assert_eq!(&p[101..117], &10u128.to_le_bytes());
    assert_eq!(&p[117..125], &30u64.to_le_bytes());
}

// ---- planning: given / when / then ----

#[test]
fn a_first_voucher_opens_the_watch_at_its_signed_terms_and_charges_its_seconds() {
    let mut t = tab(1_000);
    let charges = settle(&mut t, &[entry(0, 30, terms(3, 10))], false, 5).unwrap();
    assert_eq!(paid(&charges), vec![(30, 300)]);
    assert_eq!(t.balance, 700);
    assert_eq!(t.watches[0].terms, WatchTerms { stream_id: 3, rate_per_second: 10 });
    assert_eq!(t.watches[0].settled, 30);
    assert_eq!(t.next_watch, 1);
}

#[test]
fn an_older_or_repeated_voucher_adds_nothing() {
    let mut t = tab(1_000);
    settle(&mut t, &[entry(0, 30, terms(3, 10))], false, 5).unwrap();
    assert_eq!(paid(&settle(&mut t, &[entry(0, 20, None)], false, 6).unwrap()), vec![(0, 0)]);
    assert_eq!(paid(&settle(&mut t, &[entry(0, 30, None)], false, 7).unwrap()), vec![(0, 0)]);
    assert_eq!(t.balance, 700);
}

#[test]
fn a_voucher_past_the_balance_pays_the_covered_seconds_and_keeps_the_rest_claimable() {
    let mut t = tab(250);
    let c = settle(&mut t, &[entry(0, 30, terms(3, 10))], false, 5).unwrap();
    assert_eq!((c[0].claimed, c[0].paid, c[0].amount), (30, 25, 250));
    assert_eq!(t.balance, 0);
    t.balance = 100; // a top-up
    assert_eq!(paid(&settle(&mut t, &[entry(0, 30, None)], false, 6).unwrap()), vec![(5, 50)]);
}

#[test]
fn several_streams_at_once_never_charge_more_than_the_balance() {
    // Audit 2: one balance behind three watches of 10 s each; 10 s of balance.
    let mut t = tab(100);
    let e = [entry(0, 10, terms(1, 10)), entry(1, 10, terms(2, 10)), entry(2, 10, terms(3, 10))];
    let charged: u128 = settle(&mut t, &e, false, 1).unwrap().iter().map(|c| c.amount).sum();
    assert_eq!(charged, 100);
    assert_eq!(t.balance, 0);
}

#[test]
fn a_known_watch_keeps_its_terms() {
    let mut t = tab(1_000);
    settle(&mut t, &[entry(0, 1, terms(3, 10))], false, 1).unwrap();
    assert_eq!(settle(&mut t, &[entry(0, 5, terms(3, 1))], false, 2), Err(Error::WatchTermsChanged { watch: 0 }));
    assert_eq!(settle(&mut t, &[entry(0, 5, terms(4, 10))], false, 2), Err(Error::WatchTermsChanged { watch: 0 }));
    assert_eq!(settle(&mut t, &[entry(0, 5, terms(3, 10))], false, 2).map(|c| paid(&c)), Ok(vec![(4, 40)]));
}

#[test]
fn entries_must_be_in_strictly_increasing_watch_order_and_bounded() {
    let t = tab(1_000);
    assert_eq!(signed_claims(&t, &[]), Err(Error::BadEntries));
    let dup = [entry(0, 1, terms(1, 1)), entry(0, 2, terms(1, 1))];
    assert_eq!(signed_claims(&t, &dup), Err(Error::BadEntries), "the same watch twice would pay twice");
    let many: Vec<_> = (0..=MAX_WATCHES).map(|w| entry(w, 1, terms(1, 1))).collect();
    assert_eq!(signed_claims(&t, &many), Err(Error::BadEntries));
}

#[test]
fn a_new_watch_needs_its_terms_and_a_retired_watch_settles_nothing() {
    let mut t = tab(1_000);
    assert_eq!(settle(&mut t, &[entry(0, 1, None)], false, 1), Err(Error::WatchTermsMissing { watch: 0 }));
    settle(&mut t, &[TabEntry { retire: true, ..entry(4, 1, terms(1, 1)) }], true, 1).unwrap();
    assert!(t.watches.is_empty(), "the relay retired watch 4");
    // A voucher that still carries the retired watch: that entry charges nothing, the others settle.
    let c = settle(&mut t, &[entry(2, 9, terms(1, 1)), entry(4, 9, terms(1, 1)), entry(5, 3, terms(2, 1))], false, 2).unwrap();
    assert_eq!(c.iter().map(|c| (c.watch, c.paid, c.retired)).collect::<Vec<_>>(), vec![(2, 0, true), (4, 0, true), (5, 3, false)]);
    assert_eq!(t.balance, 1_000 - 1 - 3);
    assert_eq!(settle(&mut t, &[entry(4, 9, None)], false, 3), Err(Error::WatchTermsMissing { watch: 4 }));
}

#[test]
fn only_the_tabs_relay_retires_a_watch_and_only_once_it_is_paid() {
    let mut t = tab(15);
    settle(&mut t, &[TabEntry { retire: true, ..entry(0, 1, terms(1, 10)) }], false, 1).unwrap();
    assert_eq!(t.watches.len(), 1, "a retire flag from anyone else is ignored");
    settle(&mut t, &[TabEntry { retire: true, ..entry(0, 3, None) }], true, 2).unwrap();
    assert_eq!(t.watches.len(), 1, "2 s claimed, 0 paid (balance 5 < rate 10): the claim stays");
    t.balance = 100;
    settle(&mut t, &[TabEntry { retire: true, ..entry(0, 3, None) }], true, 3).unwrap();
    assert!(t.watches.is_empty());
}

#[test]
fn a_full_tab_frees_only_slots_unsettled_for_a_whole_window() {
    let mut t = tab(1_000_000);
    for w in 0..MAX_WATCHES {
        settle(&mut t, &[entry(w, 1, terms(1, 1))], false, 1_000).unwrap();
    }
    let next = [entry(MAX_WATCHES, 1, terms(2, 1))];
    assert_eq!(settle(&mut t, &next, false, 1_000 + WINDOW - 1), Err(Error::NoFreeWatch { max: MAX_WATCHES }));
    settle(&mut t, &next, false, 1_000 + WINDOW).unwrap();
    assert_eq!(t.watches.len(), 1, "the stale watches went, the new one is in");
}

#[test]
fn a_closing_tab_takes_settlements_until_its_window_ends() {
    let mut t = tab(1_000);
    t.closing_since_ms = Some(100);
    assert!(settle(&mut t, &[entry(0, 5, terms(1, 1))], false, 100 + WINDOW - 1).is_ok());
    assert_eq!(
        settle(&mut t, &[entry(0, 9, None)], false, 100 + WINDOW),
        Err(Error::DisputeWindowOver { tab_id: 1, ended_at_ms: 100 + WINDOW })
    );
}

// ---- the property test ----

/// One random step: a voucher (entries of random watches, counts, terms, retire flags; by the relay
/// or not), a top-up, or time passing.
#[derive(Debug, Clone)]
enum Step {
    Voucher { entries: Vec<(u32, u64, u64, u128, bool)>, by_relay: bool },
    TopUp(u128),
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (prop::collection::vec((0u32..12, 0u64..400, 0u64..3, 0u128..4, any::<bool>()), 1..5), any::<bool>())
            .prop_map(|(entries, by_relay)| Step::Voucher { entries, by_relay }),
        1 => (1u128..500).prop_map(Step::TopUp),
        1 => (1u64..(2 * WINDOW)).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Properties, after every step of a random sequence:
    /// - counts only grow, never above the highest count signed for the watch;
    /// - each watch was charged exactly rate × settled (no second paid twice, none at another rate);
    /// - the balance is what was put in minus what was charged (no debt, nothing created);
    /// - at most MAX_WATCHES watches, each number below next_watch, terms as first signed.
    #[test]
    fn tab_planning_keeps_its_invariants(initial in 0u128..2_000, steps in prop::collection::vec(step(), 1..40)) {
        let mut t = tab(initial);
        let mut now = 1u64;
        let mut put_in = initial;
        let mut charged_total: u128 = 0;
        // Per watch number: (terms first signed, highest signed, charged, last settled count seen).
        let mut model: BTreeMap<u32, (WatchTerms, u64, u128, u64)> = BTreeMap::new();
        // Watches gone from the tab (retired by the relay, or their slot freed after a quiet window):
        // their later entries must charge nothing.
        let mut gone: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
        for s in steps {
            match s {
                Step::TopUp(x) => { t.balance += x; put_in += x; }
                Step::Wait(ms) => now += ms,
                Step::Voucher { mut entries, by_relay } => {
                    entries.sort_by_key(|e| e.0);
                    entries.dedup_by_key(|e| e.0);
                    let entries: Vec<TabEntry> = entries.iter().map(|&(watch, ticks, stream, rate, retire)| {
                        // Terms: the stored ones most of the time, sometimes others (refused).
                        let known = t.watches.iter().find(|w| w.number == watch).map(|w| w.terms);
                        let mine = WatchTerms { stream_id: stream, rate_per_second: rate * 5 };
                        TabEntry { watch, ticks, terms: if ticks % 7 == 0 { Some(mine) } else { known.or(Some(mine)) }, retire }
                    }).collect();
                    let before = t.clone();
                    match settle(&mut t, &entries, by_relay, now) {
                        Err(_) => prop_assert_eq!(&t, &before, "a refused voucher changes nothing"),
                        Ok(charges) => {
                            for (e, c) in entries.iter().zip(&charges) {
                                let was_gone = c.watch < before.next_watch && !before.watches.iter().any(|w| w.number == c.watch);
                                // (A number skipped over when a higher one opened is gone too: never used.)
                                prop_assert!(was_gone || !gone.contains(&c.watch), "a watch gone from the tab stays gone");
                                if was_gone {
                                    prop_assert_eq!((c.paid, c.amount), (0, 0), "a watch gone from the tab is never charged again");
                                    continue;
                                }
                                let m = model.entry(c.watch).or_insert((c.terms, 0, 0, 0));
                                prop_assert_eq!(m.0, c.terms, "a watch's terms never change");
                                m.1 = m.1.max(e.ticks);
                                m.2 += c.amount;
                                prop_assert!(c.settled >= m.3, "counts only grow");
                                prop_assert!(c.settled <= m.1, "never above a signed count");
                                prop_assert_eq!(m.2, c.terms.rate_per_second * u128::from(c.settled), "charged = rate × settled");
                                m.3 = c.settled;
                                charged_total += c.amount;
                            }
                            // Retired, or freed for a later watch: either way gone for good.
                            gone.extend(model.keys().filter(|n| !t.watches.iter().any(|w| w.number == **n)));
                        }
                    }
                }
            }
            prop_assert_eq!(t.balance + charged_total, put_in, "balance = put in − charged");
            prop_assert!(t.watches.len() <= MAX_WATCHES as usize);
            for w in &t.watches {
                prop_assert!(w.number < t.next_watch);
                prop_assert!(!gone.contains(&w.number), "a watch gone from the tab never comes back");
                prop_assert_eq!(model.get(&w.number).map(|m| m.3), Some(w.settled));
            }
        }
    }
}

// ---- the tab's life, off chain ----

fn contract_with(window: u64) -> TickStream {
    thread_local!(static NEXT: core::cell::Cell<u8> = const { core::cell::Cell::new(0) });
    let n = NEXT.with(|c| {
        c.set(c.get().wrapping_add(1));
        c.get()
    });
    test::set_callee::<E>(AccountId::from([0xC0 ^ n; 32]));
    test::set_account_balance::<E>(test::callee::<E>(), 0);
    test::set_caller::<E>(viewer());
    test::set_block_timestamp::<E>(0);
    TickStream::new(AccountId::from([1; 32]), AccountId::from([2; 32]), AccountId::from([3; 32]), CHAIN.into(), window)
        .unwrap()
}
fn viewer() -> AccountId {
    AccountId::from([0xB0; 32])
}
fn open(c: &mut TickStream, value: u128) -> Result<u64> {
    test::set_caller::<E>(viewer());
    test::set_value_transferred::<E>(value);
    c.open_tab(key(1).1, relay())
}
fn at(ms: u64) {
    test::set_block_timestamp::<E>(ms);
}
fn sign(sk: &SecretKey, contract: AccountId, tab_id: u64, claims: &[(u32, u64, u128, u64)]) -> [u8; 65] {
    sign_on(CHAIN, sk, contract, tab_id, claims)
}
fn sign_on(chain: [u8; 32], sk: &SecretKey, contract: AccountId, tab_id: u64, claims: &[(u32, u64, u128, u64)]) -> [u8; 65] {
    sign_payload(sk, &tab_voucher_payload(chain, contract, tab_id, claims))
}

#[ink::test]
fn the_dispute_window_is_bounded_at_deployment() {
    let bad = Err(Error::BadDisputeWindow { min: MIN_DISPUTE_WINDOW_MS, max: MAX_DISPUTE_WINDOW_MS });
    let new = |w| TickStream::new(AccountId::from([1; 32]), AccountId::from([2; 32]), AccountId::from([3; 32]), CHAIN.into(), w).map(|_| ());
    assert_eq!(new(MIN_DISPUTE_WINDOW_MS - 1), bad);
    assert_eq!(new(MAX_DISPUTE_WINDOW_MS + 1), bad);
    assert_eq!(new(MIN_DISPUTE_WINDOW_MS), Ok(()));
}

#[ink::test]
fn opening_a_tab_needs_a_deposit_a_valid_key_and_no_open_tab() {
    let mut c = contract_with(WINDOW);
    assert_eq!(open(&mut c, 0), Err(Error::ZeroDeposit));
    test::set_value_transferred::<E>(10);
    assert_eq!(c.open_tab([4; 33], relay()), Err(Error::InvalidSessionKey));
    let id = open(&mut c, 1_000).unwrap();
    assert_eq!(open(&mut c, 1_000), Err(Error::TabAlreadyOpen { tab_id: id }));
    let t = c.tab_of(viewer()).unwrap();
    assert_eq!((t.id, t.balance, t.relay, t.session_key), (id, 1_000, relay(), key(1).1));
    assert_eq!(c.tabs_balance(), 1_000);
}

#[ink::test]
fn closing_takes_a_dispute_window_then_the_balance_goes_back_to_the_viewer() {
    let mut c = contract_with(WINDOW);
    test::set_account_balance::<E>(viewer(), 0);
    let id = open(&mut c, D).unwrap();
    test::set_account_balance::<E>(test::callee::<E>(), D); // the deposit, as the chain would hold it
    test::set_value_transferred::<E>(0);
    at(10_000);
    test::set_caller::<E>(relay());
    assert_eq!(c.close_tab(id), Err(Error::NotTabViewer { tab_id: id }), "not idle: only the viewer closes");
    test::set_caller::<E>(viewer());
    assert_eq!(c.finish_close(id), Err(Error::NotClosing { tab_id: id }));
    assert_eq!(c.close_tab(id), Ok(10_000 + WINDOW));
    assert_eq!(c.close_tab(id), Err(Error::TabClosing { tab_id: id }));
    test::set_value_transferred::<E>(5);
    assert_eq!(c.top_up(id), Err(Error::TabClosing { tab_id: id }), "no top-ups while closing");
    test::set_value_transferred::<E>(0);
    at(10_000 + WINDOW - 1);
    assert_eq!(c.finish_close(id), Err(Error::DisputeWindowOpen { ends_at_ms: 10_000 + WINDOW }));
    at(10_000 + WINDOW);
    test::set_caller::<E>(relay()); // anyone may finish; the refund goes to the viewer
    assert_eq!(c.finish_close(id), Ok(D));
    assert_eq!(test::get_account_balance::<E>(viewer()), Ok(D));
    assert_eq!(c.tab(id), None);
    assert_eq!(c.tab_of(viewer()), None);
    assert_eq!(c.tabs_balance(), 0);
    assert_eq!(c.finish_close(id), Err(Error::NoTab { tab_id: id }));
}

#[ink::test]
fn anyone_may_close_a_tab_idle_for_the_idle_timeout() {
    let mut c = contract_with(WINDOW);
    let id = open(&mut c, 1_000).unwrap();
    test::set_value_transferred::<E>(0);
    test::set_caller::<E>(relay());
    at(IDLE_TAB_MS - 1);
    assert_eq!(c.close_tab(id), Err(Error::NotTabViewer { tab_id: id }));
    at(IDLE_TAB_MS);
    assert_eq!(c.close_tab(id), Ok(IDLE_TAB_MS + WINDOW));
}

#[ink::test]
fn top_ups_grow_the_balance_and_need_an_open_tab() {
    let mut c = contract_with(WINDOW);
    let id = open(&mut c, 1_000).unwrap();
    test::set_caller::<E>(relay());
    test::set_value_transferred::<E>(500);
    assert_eq!(c.top_up(id), Ok(1_500));
    assert_eq!(c.top_up(id + 1), Err(Error::NoTab { tab_id: id + 1 }));
    test::set_value_transferred::<E>(0);
    assert_eq!(c.top_up(id), Err(Error::ZeroDeposit));
    assert_eq!(c.tabs_balance(), 1_500);
}

#[ink::test]
fn vouchers_that_are_not_the_tab_keys_are_refused_one_by_one() {
    let mut c = contract_with(WINDOW);
    let id = open(&mut c, 1_000).unwrap();
    let me = test::callee::<E>();
    let (sk, _) = key(1);
    let claims = [(0u32, 3u64, 10u128, 30u64)];
    let v = |tab_id, signature| TabVoucher { tab_id, entries: vec![entry(0, 30, terms(3, 10))], signature };
    let other_key = sign(&key(2).0, me, id, &claims);
    let other_contract = sign(&sk, AccountId::from([0xEF; 32]), id, &claims);
    let other_chain = sign_on([8; 32], &sk, me, id, &claims); // same contract address, another genesis
    let raised = sign(&sk, me, id, &[(0, 3, 10, 29)]); // signed 29, claims 30
    let cheaper = sign(&sk, me, id, &[(0, 3, 9, 30)]); // signed rate 9, claims rate 10
    let mut twin = sign(&sk, me, id, &claims);
    twin[64] += 27;
    let results = c
        .settle_tabs(vec![v(id, other_key), v(id, other_contract), v(id, other_chain), v(id, raised), v(id, cheaper), v(id, twin), v(id + 1, sign(&sk, me, id + 1, &claims))])
        .unwrap();
    assert_eq!(
        results,
        vec![
            Err(Error::BadSignature),
            Err(Error::BadSignature),
            Err(Error::BadSignature),
            Err(Error::BadSignature),
            Err(Error::BadSignature),
            Err(Error::NonCanonicalSignature),
            Err(Error::NoTab { tab_id: id + 1 }),
        ]
    );
    assert_eq!(c.tab(id).unwrap().balance, 1_000);
    assert_eq!(test::recorded_events().count(), 1 + 7, "TabOpened, then one TabVoucherRefused per voucher");
}

#[ink::test]
fn a_voucher_of_one_tab_is_worthless_on_another_tab() {
    // Replay across tabs: the same key, two tabs (the first closed, then a new one opened).
    let mut c = contract_with(MIN_DISPUTE_WINDOW_MS);
    let first = open(&mut c, D).unwrap();
    test::set_value_transferred::<E>(0);
    c.close_tab(first).unwrap();
    at(MIN_DISPUTE_WINDOW_MS);
    test::set_account_balance::<E>(test::callee::<E>(), D);
    c.finish_close(first).unwrap();
    let second = open(&mut c, D).unwrap();
    assert_ne!(first, second, "tab ids are never reused");
    let old = sign(&key(1).0, test::callee::<E>(), first, &[(0, 3, 10, 30)]);
    let replay = TabVoucher { tab_id: second, entries: vec![entry(0, 30, terms(3, 10))], signature: old };
    let stale = TabVoucher { tab_id: first, ..replay.clone() };
    assert_eq!(c.settle_tabs(vec![replay, stale]), Ok(vec![Err(Error::BadSignature), Err(Error::NoTab { tab_id: first })]));
}

#[ink::test]
fn a_batch_past_the_limit_is_refused() {
    let mut c = contract_with(WINDOW);
    let v = TabVoucher { tab_id: 1, entries: vec![entry(0, 1, None)], signature: [0; 65] };
    assert_eq!(c.settle_tabs(vec![v; MAX_TAB_BATCH as usize + 1]), Err(Error::BatchTooLarge { max: MAX_TAB_BATCH }));
}
