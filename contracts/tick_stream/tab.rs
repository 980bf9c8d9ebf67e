//! # Tabs (protocol v2)
//!
//! A *tab* is a viewer's payment channel with this contract: one wallet approval (`open_tab`) puts a
//! balance behind one session key, valid for every stream. Each stream the viewer watches is a
//! *watch* inside the tab, opened by nothing more than the session key signing a first count for it —
//! no wallet, no transaction. The key signs a **tab voucher**: for one or more watches, the terms the
//! viewer agreed when watching began (stream, rate) and the cumulative seconds watched. Anyone settles
//! vouchers in batches (`settle_tabs`); the viewer leaves with a two-phase close (`close_tab`, then
//! after the dispute window `finish_close`), and during the window anyone may settle a higher voucher.
//!
//! This file holds the types and the pure planning of one voucher against a tab ([`plan`]), so the
//! contract's money rules are property-tested without a chain (tests.rs).
//!
//! ## Invariants of one tab `τ` (balance `b`, watches `w` with rate `r_w`, settled count `n_w`,
//! highest count the key signed `T_w`, charged so far `C_w`)
//! - `n_w` only grows and `n_w ≤ T_w`: nobody pays for a second the key did not sign.
//! - `C_w = r_w · n_w`: every second at the rate signed when the watch began; a watch's terms never
//!   change (a voucher naming other terms for a known watch is refused).
//! - `b ≥ 0` and `Σ_w C_w ≤ deposits(τ)`: no debt; a voucher the balance cannot cover pays the whole
//!   seconds it covers and keeps the rest claimable (after a top-up).
//! - `|watches| ≤ MAX_WATCHES`; watch numbers only grow, so a retired watch's entries settle nothing
//!   (a voucher carrying one still settles its other watches).
use crate::tick_stream::Error;
use ink::prelude::{collections::BTreeMap, vec::Vec};
use ink::primitives::AccountId;
use stream_registry::StreamId;

/// Plancks.
pub type Balance = u128;
/// Milliseconds since the Unix epoch (ink!'s block timestamp).
pub type Timestamp = u64;

/// Domain tag of every tab-voucher payload (distinct from protocol v1's `vilokanam:tick:1`).
pub const TAB_DOMAIN: [u8; 16] = *b"vilokanam:tab:v2";
/// Watches a tab holds at once. A slot frees when the tab's relay retires a settled watch, or when a
/// watch has not been settled for a dispute window.
pub const MAX_WATCHES: u32 = 8;
const MAX_WATCHES_LEN: usize = MAX_WATCHES as usize;

/// What the viewer agreed when a watch began: the stream and its rate.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct WatchTerms {
    /// The stream watched.
    #[codec(compact)]
    pub stream_id: StreamId,
    /// Plancks per second, as the viewer signed it.
    #[codec(compact)]
    pub rate_per_second: Balance,
}

/// One watch's claim inside a tab voucher, as submitted on chain (compact: the terms of a watch the
/// tab already holds are read from storage, not sent again).
#[derive(Debug, PartialEq, Eq, Clone)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct TabEntry {
    /// The watch's number in the tab (chosen by the viewer's browser; only grows).
    #[codec(compact)]
    pub watch: u32,
    /// Seconds watched in this watch, in total.
    #[codec(compact)]
    pub ticks: u64,
    /// The watch's terms: required the first time a watch is settled, optional after.
    pub terms: Option<WatchTerms>,
    /// Free the watch's slot after this settlement. Honored only when the tab's relay submits it (it
    /// holds the watch's latest voucher, so retiring cannot lose a signed second); not signed.
    pub retire: bool,
}

/// A session key's signed claim for several watches of one tab.
#[derive(Debug, PartialEq, Eq, Clone)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct TabVoucher {
    /// The tab.
    #[codec(compact)]
    pub tab_id: u64,
    /// Claims in strictly increasing watch order, at most [`MAX_WATCHES`].
    pub entries: Vec<TabEntry>,
    /// ECDSA (secp256k1, RSV) signature by the tab's session key of [`tab_voucher_payload`].
    pub signature: [u8; 65],
}

/// One stream watched from a tab.
#[derive(Debug, PartialEq, Eq, Clone)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Watch {
    /// Its number in the tab.
    pub number: u32,
    /// Stream and rate, fixed when the watch began.
    pub terms: WatchTerms,
    /// The stream's creator, who is paid.
    pub creator: AccountId,
    /// Highest count settled, in seconds.
    pub settled: u64,
    /// When it was last settled (or began), in milliseconds.
    pub last_settled_ms: Timestamp,
}

/// A viewer's tab. One entry per open tab, deleted when it closes; at most [`MAX_WATCHES`] watches.
#[derive(Debug, PartialEq, Eq, Clone)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
pub struct Tab {
    /// Unique across all tabs of this contract (never reused).
    pub id: u64,
    /// Who opened it; the balance goes back to them.
    pub viewer: AccountId,
    /// The compressed secp256k1 key whose signatures count.
    pub session_key: [u8; 33],
    /// The relay serving this tab: the only one whose `retire` is honored.
    pub relay: AccountId,
    /// Unspent plancks.
    pub balance: Balance,
    /// Watch numbers below this one have been used.
    pub next_watch: u32,
    /// Open watches.
    pub watches: Vec<Watch>,
    /// Last settlement, top-up or opening, in milliseconds.
    pub last_activity_ms: Timestamp,
    /// When the close was asked for, in milliseconds; the tab finishes closing a dispute window later.
    pub closing_since_ms: Option<Timestamp>,
}

/// What settling one entry did.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct WatchCharge {
    /// The watch.
    pub watch: u32,
    /// Its stream and rate.
    pub terms: WatchTerms,
    /// The stream's creator.
    pub creator: AccountId,
    /// Seconds above the settled count that the voucher claimed.
    pub claimed: u64,
    /// Of those, seconds paid (fewer when the balance ran out).
    pub paid: u64,
    /// Plancks charged: `paid × rate`.
    pub amount: Balance,
    /// The watch's settled count after this entry.
    pub settled: u64,
    /// Whether the watch was retired (its slot freed) after this entry.
    pub retired: bool,
}

/// What one entry of a settled tab voucher did (in the `TabSettled` event).
#[derive(Debug, PartialEq, Eq, Clone)]
#[ink::scale_derive(Encode, Decode, TypeInfo)]
pub struct WatchSettlement {
    /// The watch's number in the tab.
    pub watch: u32,
    /// Its stream.
    pub stream_id: StreamId,
    /// Its settled count after, in seconds.
    pub settled: u64,
    /// Seconds newly paid (0 if the voucher was not above the settled count).
    pub new_ticks: u64,
    /// Seconds claimed but not paid: the balance ran out (claimable after a top-up).
    pub unpaid_ticks: u64,
    /// Plancks charged.
    pub amount: Balance,
    /// Whether the relay retired the watch.
    pub retired: bool,
}

/// The bytes a session key signs for a tab voucher: `SCALE(TAB_DOMAIN, chain, contract, tab_id,
/// [(watch, stream_id, rate_per_second, ticks)])`; the signature covers their blake2-256 hash. `chain`
/// is the genesis hash the contract was deployed with, so a voucher means nothing on another chain.
pub fn tab_voucher_payload(
    chain: [u8; 32],
    contract: AccountId,
    tab_id: u64,
    claims: &[(u32, StreamId, Balance, u64)],
) -> Vec<u8> {
    use ink::scale::Encode;
    (TAB_DOMAIN, chain, contract, tab_id, claims).encode()
}

/// Each entry with its full terms (stored, or given for a new watch): what the key must have signed.
///
/// Refuses: no entries or more than [`MAX_WATCHES`] (`BadEntries`), watch numbers not strictly
/// increasing (`BadEntries`), terms that differ from a known watch's (`WatchTermsChanged`), a watch the
/// tab does not hold without terms (`WatchTermsMissing`).
pub fn signed_claims(tab: &Tab, entries: &[TabEntry]) -> Result<Vec<(u32, StreamId, Balance, u64)>, Error> {
    if entries.is_empty() || entries.len() > MAX_WATCHES_LEN {
        return Err(Error::BadEntries);
    }
    let mut claims = Vec::with_capacity(entries.len());
    let mut last: Option<u32> = None;
    for e in entries {
        if last.is_some_and(|l| e.watch <= l) {
            return Err(Error::BadEntries);
        }
        last = Some(e.watch);
        let terms = match tab.watches.iter().find(|w| w.number == e.watch) {
            Some(w) => {
                if e.terms.is_some_and(|t| t != w.terms) {
                    return Err(Error::WatchTermsChanged { watch: e.watch });
                }
                w.terms
            }
            // A retired watch (settled in full, its slot freed): its entry still needs its terms for
            // the signature, and settles nothing (see `plan`), so a voucher that also carries it stays
            // good for its other watches.
            None => e.terms.ok_or(Error::WatchTermsMissing { watch: e.watch })?,
        };
        claims.push((e.watch, terms.stream_id, terms.rate_per_second, e.ticks));
    }
    Ok(claims)
}

/// Streams whose creator [`plan`] needs: those of the entries' new watches.
pub fn new_streams(tab: &Tab, entries: &[TabEntry]) -> Vec<StreamId> {
    entries
        .iter()
        .filter(|e| !tab.watches.iter().any(|w| w.number == e.watch))
        .filter_map(|e| e.terms.map(|t| t.stream_id))
        .collect()
}

/// Applies one voucher (already checked against the key: its entries are [`signed_claims`]) to `tab`,
/// returning what each entry charged. Pure: on `Err` the caller keeps the tab as it was.
///
/// `creators` names each new watch's stream creator (`StreamNotFound` if absent); `by_relay` says the
/// caller is the tab's relay; `window_ms` is the dispute window.
///
/// Refuses: a tab whose dispute window has passed (`DisputeWindowOver`), a new watch with no free slot
/// (`NoFreeWatch`).
pub fn plan(
    tab: &mut Tab,
    entries: &[TabEntry],
    creators: &BTreeMap<StreamId, AccountId>,
    by_relay: bool,
    now: Timestamp,
    window_ms: u64,
) -> Result<Vec<WatchCharge>, Error> {
    if let Some(since) = tab.closing_since_ms {
        let ends_at_ms = since.saturating_add(window_ms);
        if now >= ends_at_ms {
            return Err(Error::DisputeWindowOver { tab_id: tab.id, ended_at_ms: ends_at_ms });
        }
    }
    let mut charges = Vec::with_capacity(entries.len());
    for e in entries {
        let index = match tab.watches.iter().position(|w| w.number == e.watch) {
            Some(i) => i,
            None if e.watch < tab.next_watch => {
                // Retired: settled in full when it was retired; nothing more to charge.
                let terms = e.terms.ok_or(Error::WatchTermsMissing { watch: e.watch })?;
                charges.push(WatchCharge {
                    watch: e.watch,
                    terms,
                    creator: AccountId::from([0; 32]),
                    claimed: 0,
                    paid: 0,
                    amount: 0,
                    settled: 0,
                    retired: true,
                });
                continue;
            }
            None => {
                // A new watch (signed_claims checked its number and terms).
                let terms = e.terms.ok_or(Error::WatchTermsMissing { watch: e.watch })?;
                let creator = *creators
                    .get(&terms.stream_id)
                    .ok_or(Error::StreamNotFound { stream_id: terms.stream_id })?;
                if tab.watches.len() >= MAX_WATCHES_LEN {
                    // Free the slots of watches nobody settled for a whole window: any higher voucher
                    // of theirs had that long to land.
                    tab.watches.retain(|w| now < w.last_settled_ms.saturating_add(window_ms));
                }
                if tab.watches.len() >= MAX_WATCHES_LEN {
                    return Err(Error::NoFreeWatch { max: MAX_WATCHES });
                }
                tab.watches.push(Watch { number: e.watch, terms, creator, settled: 0, last_settled_ms: now });
                tab.next_watch = e.watch.checked_add(1).ok_or(Error::Overflow)?;
                tab.watches.len().checked_sub(1).ok_or(Error::Overflow)?
            }
        };
        let w = tab.watches.get_mut(index).ok_or(Error::Overflow)?;
        let claimed = e.ticks.saturating_sub(w.settled);
        let rate = w.terms.rate_per_second;
        // Check: only the whole seconds the balance covers (all of them at a zero rate).
        let affordable = tab
            .balance
            .checked_div(rate)
            .map_or(u64::MAX, |s| u64::try_from(s).unwrap_or(u64::MAX));
        let paid = claimed.min(affordable);
        let amount = rate.checked_mul(Balance::from(paid)).ok_or(Error::Overflow)?;
        // Effect.
        tab.balance = tab.balance.checked_sub(amount).ok_or(Error::Overflow)?;
        w.settled = w.settled.checked_add(paid).ok_or(Error::Overflow)?;
        if paid > 0 {
            w.last_settled_ms = now;
        }
        // The relay may retire a watch once everything it claimed is paid.
        let retired = e.retire && by_relay && paid == claimed;
        charges.push(WatchCharge {
            watch: e.watch,
            terms: w.terms,
            creator: w.creator,
            claimed,
            paid,
            amount,
            settled: w.settled,
            retired,
        });
        if retired {
            tab.watches.remove(index);
        }
    }
    tab.last_activity_ms = now;
    Ok(charges)
}
