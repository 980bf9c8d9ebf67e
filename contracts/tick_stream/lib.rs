//! # Tick stream
//!
//! ## Overview
//! Watch time, proven by the viewer, paid through **tabs** (protocol v2; the types and the pure
//! planning are in [`tab`]). A viewer opens a tab once (`open_tab`: one wallet approval that puts a
//! balance behind a **session key**, a secp256k1 key made in their browser), valid for every stream.
//! While watching, the browser signs a *cumulative* tab voucher every second with that key, off
//! chain and free: for each watch, the terms agreed when it began (stream, rate) and the seconds
//! watched. Anyone — the relay, the creator, the viewer — settles the latest vouchers of many tabs in
//! one call (`settle_tabs`); the contract checks each signature, charges
//! `rate × (cumulative − already settled)` from the tab and books every stream's earnings with the
//! payment handler in one call. The viewer leaves with a two-phase close (`close_tab`, then after the
//! dispute window `finish_close`); during the window anyone may settle a higher voucher.
//!
//! Protocol v1 (a join and a leave from the wallet per stream, escrow in the payment handler) is
//! gone: its holes (audit 1–4, 9) went with it.
//!
//! ## The voucher
//! The session key signs `blake2_256(SCALE(TAB_DOMAIN, genesis hash, contract, tab, [(watch, stream,
//! rate, ticks)]))` — see [`tab::tab_voucher_payload`]. The chain, contract and tab make a voucher
//! worthless anywhere else. The signature is ECDSA over secp256k1 (65 bytes, RSV, canonical form
//! only), checked with the stable `ecdsa_recover` host function, so the contract runs on production
//! pallet-contracts chains.
//!
//! ## Invariants
//! Per tab, see [`tab`]. Across tabs: `Σ_τ b_τ = tabs_balance` = this contract's balance above what
//! it held before the first tab; settled seconds and plancks only grow.
//!
//! ## Audience (the dynamic price rule's input)
//! `audience(s)` = plancks settled for stream `s` during the previous clock hour ÷ (its base rate ×
//! 3 600): its paying audience in base-rate viewers. A viewer adds one only by paying an hour at the
//! base rate, money that goes to the creator; tabs signing a cheap or zero rate add next to nothing
//! (audit 7: one-second sybil sessions no longer move the price).
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod tick_stream {
    use ink::env::hash::{Blake2x256, HashOutput};
    use ink::prelude::{collections::BTreeMap, vec::Vec};
    use ink::storage::Mapping;
    use payment_handler::{Booking, PaymentHandlerRef};
    use pricing_engine::PricingEngineRef;
    use stream_registry::{StreamId, StreamRegistryRef};
    use crate::tab::{self, Tab, TabVoucher, WatchCharge, WatchSettlement};

    /// Most tab vouchers one `settle_tabs` call takes: what one extrinsic of this runtime holds
    /// (≈ 27 KB of proof each, ≈ 118 fit at exact gas: `npm run bench:tabs`), so that the contract never
    /// takes a batch the chain cannot include (audit 8). A relay cuts a round where a dry run says so.
    pub const MAX_TAB_BATCH: u32 = 110;
    /// Most streams one `rates` call takes.
    pub const MAX_RATES: u32 = 200;
    /// A clock hour, in milliseconds: the audience's period.
    const HOUR_MS: u64 = 3_600_000;
    /// Shortest and longest dispute window a deployment may choose, in milliseconds.
    pub const MIN_DISPUTE_WINDOW_MS: u64 = 1_000;
    /// See [`MIN_DISPUTE_WINDOW_MS`]: 30 days.
    pub const MAX_DISPUTE_WINDOW_MS: u64 = 30 * 24 * 3_600 * 1_000;
    /// A tab nobody settled or topped up for this long may be closed by anyone (its balance still goes
    /// back to its viewer, after the dispute window), in milliseconds: 30 days.
    pub const IDLE_TAB_MS: u64 = 30 * 24 * 3_600 * 1_000;

    /// A compressed secp256k1 public key (33 bytes).
    pub type SessionKey = [u8; 33];
    /// An ECDSA signature in RSV form (65 bytes).
    pub type Signature = [u8; 65];

    /// Plancks settled for one stream in a clock hour and in the hour before it.
    #[derive(Debug, PartialEq, Eq, Clone, Copy, Default)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct HourlyEarnings {
        /// The clock hour of `this_hour` (milliseconds since the epoch ÷ 3 600 000).
        pub hour: u64,
        /// Plancks settled during `hour`.
        pub this_hour: Balance,
        /// Plancks settled during `hour − 1`.
        pub last_hour: Balance,
    }

    /// What a stream's settlements add up to: one storage entry per stream, read and written once per
    /// batch (one entry, not two: its deposit is the first settler's, often a viewer's "Settle now").
    #[derive(Debug, PartialEq, Eq, Clone, Copy, Default)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct StreamTotals {
        /// Settled seconds, all tabs.
        pub ticks: u64,
        /// Plancks settled this clock hour and the one before (the dynamic rule's audience).
        pub earned: HourlyEarnings,
    }

    impl HourlyEarnings {
        /// Adds `amount` settled during clock hour `now` (hours only move forward on a chain).
        pub fn add(self, now: u64, amount: Balance) -> Self {
            if now == self.hour {
                Self { this_hour: self.this_hour.saturating_add(amount), ..self }
            } else {
                Self { hour: now, this_hour: amount, last_hour: self.previous_to(now) }
            }
        }

        /// Plancks settled during the hour before clock hour `now`.
        pub fn previous_to(&self, now: u64) -> Balance {
            if now == self.hour {
                self.last_hour
            } else if now == self.hour.saturating_add(1) {
                self.this_hour
            } else {
                0
            }
        }
    }

    /// A viewer opened a tab.
    #[ink(event)]
    pub struct TabOpened {
        /// The new tab.
        #[ink(topic)]
        pub tab_id: u64,
        /// Its viewer.
        #[ink(topic)]
        pub viewer: AccountId,
        /// The relay serving it.
        pub relay: AccountId,
        /// Plancks put in.
        pub balance: Balance,
    }

    /// A tab's balance grew.
    #[ink(event)]
    pub struct TabToppedUp {
        /// The tab.
        #[ink(topic)]
        pub tab_id: u64,
        /// Plancks added.
        pub amount: Balance,
        /// The balance after, in plancks.
        pub balance: Balance,
    }

    /// A tab voucher was settled: what each of its entries did, in entry order. One event per voucher
    /// (an event's proof size grows with its topics, ≈ 2.5 KB each: one per entry would cost a third
    /// of the settlements one extrinsic holds).
    #[ink(event)]
    pub struct TabSettled {
        /// The tab.
        #[ink(topic)]
        pub tab_id: u64,
        /// Per entry: the watch, its stream, its settled count after, seconds newly paid, seconds
        /// claimed but unpaid (the balance ran out), plancks charged, whether the relay retired it.
        pub watches: Vec<WatchSettlement>,
    }

    /// A tab voucher of a batch was refused and changed nothing (the others went on).
    #[ink(event)]
    pub struct TabVoucherRefused {
        /// The voucher's tab.
        #[ink(topic)]
        pub tab_id: u64,
        /// Why.
        pub error: Error,
    }

    /// A tab's close began: it takes no top-ups, the media gate stops serving it, and anyone may settle
    /// a higher voucher until `ends_at_ms`.
    #[ink(event)]
    pub struct TabClosing {
        /// The tab.
        #[ink(topic)]
        pub tab_id: u64,
        /// Its viewer.
        #[ink(topic)]
        pub viewer: AccountId,
        /// End of the dispute window, in milliseconds.
        pub ends_at_ms: Timestamp,
    }

    /// A tab closed: its unspent balance went back to its viewer and its storage was deleted.
    #[ink(event)]
    pub struct TabClosed {
        /// The tab.
        #[ink(topic)]
        pub tab_id: u64,
        /// Its viewer, who received the refund.
        #[ink(topic)]
        pub viewer: AccountId,
        /// Plancks returned.
        pub refund: Balance,
    }

    /// Why a message (or one voucher of a batch) was refused. Nothing changes when one is returned.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    // The SCALE derive casts the variant index with `as u8`; clippy 1.96 flags that inside the
    // expansion. Our own code keeps cargo-contract's -D clippy::cast_possible_truncation.
    #[allow(clippy::cast_possible_truncation)]
    pub enum Error {
        /// No stream with this id.
        StreamNotFound { stream_id: StreamId },
        /// The stream has no price plan.
        NoPricePlan { stream_id: StreamId },
        /// The signature is not the session key's signature of this voucher.
        BadSignature,
        /// The signature is not in canonical form: `s` must be in the lower half of the curve order
        /// and the recovery id 0 or 1 (each signature has one accepted form, not twins).
        NonCanonicalSignature,
        /// The stream's dynamic price rule overflows at this audience size.
        RateOverflow { stream_id: StreamId },
        /// The session key is not a valid compressed secp256k1 key.
        InvalidSessionKey,
        /// More vouchers than [`MAX_TAB_BATCH`], or more streams than [`MAX_RATES`].
        BatchTooLarge { max: u32 },
        /// The payment handler refused (this contract is not wired to it).
        PaymentFailed,
        /// A counter does not fit.
        Overflow,
        /// No open tab with this id (never opened, or closed).
        NoTab { tab_id: u64 },
        /// The viewer already has an open tab.
        TabAlreadyOpen { tab_id: u64 },
        /// The tab is closing: no top-ups, no second close.
        TabClosing { tab_id: u64 },
        /// The tab is not closing, so it cannot finish closing.
        NotClosing { tab_id: u64 },
        /// Only the tab's viewer may close it (anyone, once it has been idle for [`IDLE_TAB_MS`]).
        NotTabViewer { tab_id: u64 },
        /// The dispute window is still open: the tab can finish closing at `ends_at_ms`.
        DisputeWindowOpen { ends_at_ms: Timestamp },
        /// The tab's dispute window has ended: no more settlements.
        DisputeWindowOver { tab_id: u64, ended_at_ms: Timestamp },
        /// A voucher's entries are empty, more than the watches a tab holds, or not in strictly
        /// increasing watch order.
        BadEntries,
        /// The entry names other terms (stream, rate) than its watch began with.
        WatchTermsChanged { watch: u32 },
        /// The first settlement of a watch must name its terms.
        WatchTermsMissing { watch: u32 },
        /// The tab holds `max` watches, all settled within the dispute window.
        NoFreeWatch { max: u32 },
        /// No value was sent where a deposit is required.
        ZeroDeposit,
        /// The dispute window is outside what a deployment may choose.
        BadDisputeWindow { min: u64, max: u64 },
        /// The chain refused a transfer.
        TransferFailed,
    }

    /// Result type of this contract's messages.
    pub type Result<T> = core::result::Result<T, Error>;

    /// The contract's storage.
    #[ink(storage)]
    pub struct TickStream {
        /// The stream registry (is a stream live, who created it).
        registry: AccountId,
        /// The pricing engine (the rate a watch beginning now agrees to).
        pricing: AccountId,
        /// The payment handler (creators' earnings, subscriptions, the platform fee).
        payments: AccountId,
        /// Per stream: settled seconds, and plancks settled this clock hour and the one before.
        stream_totals: Mapping<StreamId, StreamTotals>,
        /// The genesis hash of the chain deployed on (in every tab voucher's payload).
        chain: Hash,
        /// How long a closing tab stays open to settlements, in milliseconds.
        dispute_window_ms: u64,
        /// Open tabs by id.
        tabs: Mapping<u64, Tab>,
        /// Each viewer's open tab.
        tab_of: Mapping<AccountId, u64>,
        /// Id of the next tab.
        next_tab_id: u64,
        /// Σ tab balances, in plancks: this contract's balance above what it held before any tab.
        tabs_balance: Balance,
    }

    impl TickStream {
        /// A tick_stream wired to the other three contracts, on the chain whose genesis hash is
        /// `chain`, with tabs closing `dispute_window_ms` after their close is asked for.
        ///
        /// Requirements: `MIN_DISPUTE_WINDOW_MS ≤ dispute_window_ms ≤ MAX_DISPUTE_WINDOW_MS`.
        #[ink(constructor)]
        pub fn new(
            registry: AccountId,
            pricing: AccountId,
            payments: AccountId,
            chain: Hash,
            dispute_window_ms: u64,
        ) -> Result<Self> {
            if !(MIN_DISPUTE_WINDOW_MS..=MAX_DISPUTE_WINDOW_MS).contains(&dispute_window_ms) {
                return Err(Error::BadDisputeWindow { min: MIN_DISPUTE_WINDOW_MS, max: MAX_DISPUTE_WINDOW_MS });
            }
            Ok(Self {
                registry,
                pricing,
                payments,
                stream_totals: Mapping::default(),
                chain,
                dispute_window_ms,
                tabs: Mapping::default(),
                tab_of: Mapping::default(),
                next_tab_id: 1,
                tabs_balance: 0,
            })
        }

        /// Settled seconds of a stream, all tabs.
        #[ink(message)]
        pub fn stream_ticks(&self, stream_id: StreamId) -> u64 {
            self.stream_totals.get(stream_id).map_or(0, |t| t.ticks)
        }

        /// What `seconds` of `stream_id` cost a watch beginning now, in plancks: at the stream's current
        /// rate for its audience (see the module docs). A viewer's watch keeps the rate it began with.
        #[ink(message)]
        pub fn quote(&self, stream_id: StreamId, seconds: u64) -> Result<Balance> {
            self.rate_now(stream_id)?.checked_mul(Balance::from(seconds)).ok_or(Error::Overflow)
        }

        /// The per-second rate a watch beginning now agrees to, for each of `stream_ids` (at most
        /// [`MAX_RATES`]): one read for a whole list of streams.
        #[ink(message)]
        pub fn rates(&self, stream_ids: Vec<StreamId>) -> Result<Vec<Result<Balance>>> {
            if stream_ids.len() > MAX_RATES as usize {
                return Err(Error::BatchTooLarge { max: MAX_RATES });
            }
            Ok(stream_ids.into_iter().map(|id| self.rate_now(id)).collect())
        }

        /// The stream's paying audience over the previous clock hour, in base-rate viewers (the
        /// dynamic price rule's input; see the module docs).
        #[ink(message)]
        pub fn audience(&self, stream_id: StreamId) -> u32 {
            let pricing: PricingEngineRef = ink::env::call::FromAccountId::from_account_id(self.pricing);
            pricing.price_plan(stream_id).map_or(0, |plan| self.audience_at(stream_id, plan.rate_per_second))
        }

        /// `(registry, pricing, payments)`.
        #[ink(message)]
        pub fn wiring(&self) -> (AccountId, AccountId, AccountId) {
            (self.registry, self.pricing, self.payments)
        }

        // ---- Protocol v2: tabs ----

        /// Opens a tab for the caller with the value sent as its balance, spendable by `session_key`'s
        /// vouchers on any stream, served by `relay`. One wallet approval for any number of streams.
        /// Returns the tab id.
        ///
        /// Requirements: value > 0; a compressed secp256k1 key; no open tab of the caller. Emits
        /// [`TabOpened`].
        #[ink(message, payable)]
        pub fn open_tab(&mut self, session_key: SessionKey, relay: AccountId) -> Result<u64> {
            let viewer = self.env().caller();
            let balance = self.env().transferred_value();
            if balance == 0 {
                return Err(Error::ZeroDeposit);
            }
            if !matches!(session_key[0], 0x02 | 0x03) {
                return Err(Error::InvalidSessionKey);
            }
            if let Some(tab_id) = self.tab_of.get(viewer) {
                return Err(Error::TabAlreadyOpen { tab_id });
            }
            let tab_id = self.next_tab_id;
            self.next_tab_id = tab_id.checked_add(1).ok_or(Error::Overflow)?;
            self.tabs_balance = self.tabs_balance.checked_add(balance).ok_or(Error::Overflow)?;
            let tab = Tab {
                id: tab_id,
                viewer,
                session_key,
                relay,
                balance,
                next_watch: 0,
                watches: Vec::new(),
                last_activity_ms: self.env().block_timestamp(),
                closing_since_ms: None,
            };
            self.tabs.insert(tab_id, &tab);
            self.tab_of.insert(viewer, &tab_id);
            self.env().emit_event(TabOpened { tab_id, viewer, relay, balance });
            Ok(tab_id)
        }

        /// Adds the value sent to a tab (anyone may top up anyone's). Returns the new balance.
        ///
        /// Requirements: value > 0; the tab is open and not closing. Emits [`TabToppedUp`].
        #[ink(message, payable)]
        pub fn top_up(&mut self, tab_id: u64) -> Result<Balance> {
            let amount = self.env().transferred_value();
            if amount == 0 {
                return Err(Error::ZeroDeposit);
            }
            let mut tab = self.tabs.get(tab_id).ok_or(Error::NoTab { tab_id })?;
            if tab.closing_since_ms.is_some() {
                return Err(Error::TabClosing { tab_id });
            }
            tab.balance = tab.balance.checked_add(amount).ok_or(Error::Overflow)?;
            tab.last_activity_ms = self.env().block_timestamp();
            self.tabs_balance = self.tabs_balance.checked_add(amount).ok_or(Error::Overflow)?;
            self.tabs.insert(tab_id, &tab);
            self.env().emit_event(TabToppedUp { tab_id, amount, balance: tab.balance });
            Ok(tab.balance)
        }

        /// Settles tab vouchers, many tabs per call, each on its own: a bad voucher is refused with
        /// its error in the returned list (and a [`TabVoucherRefused`] event) and does not stop the
        /// others. Anyone may submit; `retire` flags count only from the tab's relay. Returns what
        /// each voucher charged, in plancks. All earnings go to the payment handler in one call.
        ///
        /// Requirements: at most [`MAX_TAB_BATCH`] vouchers. Emits [`TabSettled`] for each settled
        /// voucher, [`TabVoucherRefused`] for each refused voucher, in voucher order.
        #[ink(message)]
        pub fn settle_tabs(&mut self, vouchers: Vec<TabVoucher>) -> Result<Vec<Result<Balance>>> {
            if vouchers.len() > MAX_TAB_BATCH as usize {
                return Err(Error::BatchTooLarge { max: MAX_TAB_BATCH });
            }
            let caller = self.env().caller();
            let now = self.env().block_timestamp();
            // Each tab is read once and written once per batch; creators are looked up once per stream.
            let mut tabs: BTreeMap<u64, Tab> = BTreeMap::new();
            let mut creators: BTreeMap<StreamId, AccountId> = BTreeMap::new();
            // Per stream: (creator, plancks, seconds) for one booking call.
            let mut per_stream: BTreeMap<StreamId, (AccountId, Balance, u64)> = BTreeMap::new();
            let mut results = Vec::with_capacity(vouchers.len());
            for v in &vouchers {
                let result = self.settle_tab_voucher(v, caller, now, &mut tabs, &mut creators).map(|charges| {
                    let mut total: Balance = 0;
                    let mut watches = Vec::with_capacity(charges.len());
                    for c in &charges {
                        watches.push(WatchSettlement {
                            watch: c.watch,
                            stream_id: c.terms.stream_id,
                            settled: c.settled,
                            new_ticks: c.paid,
                            unpaid_ticks: c.claimed.saturating_sub(c.paid),
                            amount: c.amount,
                            retired: c.retired,
                        });
                        let entry = per_stream.entry(c.terms.stream_id).or_insert((c.creator, 0, 0));
                        entry.1 = entry.1.saturating_add(c.amount);
                        entry.2 = entry.2.saturating_add(c.paid);
                        total = total.saturating_add(c.amount);
                    }
                    self.env().emit_event(TabSettled { tab_id: v.tab_id, watches });
                    total
                });
                if let Err(error) = &result {
                    self.env().emit_event(TabVoucherRefused { tab_id: v.tab_id, error: error.clone() });
                }
                results.push(result);
            }
            // Effects: tabs, totals, statistics; then the one interaction.
            for (tab_id, tab) in &tabs {
                self.tabs.insert(tab_id, tab);
            }
            let mut bookings = Vec::with_capacity(per_stream.len());
            let mut charged: Balance = 0;
            let hour = now.checked_div(HOUR_MS).unwrap_or(0);
            for (stream_id, (creator, amount, ticks)) in per_stream {
                if ticks > 0 || amount > 0 {
                    let mut totals = self.stream_totals.get(stream_id).unwrap_or_default();
                    totals.ticks = totals.ticks.saturating_add(ticks);
                    if amount > 0 {
                        totals.earned = totals.earned.add(hour, amount);
                    }
                    self.stream_totals.insert(stream_id, &totals);
                }
                if amount > 0 {
                    charged = charged.checked_add(amount).ok_or(Error::Overflow)?;
                    bookings.push(Booking { stream_id, creator, amount });
                }
            }
            self.tabs_balance = self.tabs_balance.checked_sub(charged).ok_or(Error::Overflow)?;
            if charged > 0 {
                use ink::codegen::TraitCallBuilder;
                let mut payments: PaymentHandlerRef = ink::env::call::FromAccountId::from_account_id(self.payments);
                payments
                    .call_mut()
                    .book_tab_earnings(bookings)
                    .transferred_value(charged)
                    .invoke()
                    .map_err(|_| Error::PaymentFailed)?;
            }
            Ok(results)
        }

        /// Begins closing a tab: from now on it takes no top-ups, and anyone may settle a higher
        /// voucher for one dispute window; then [`TickStream::finish_close`] returns what is left.
        /// Returns when the window ends, in milliseconds.
        ///
        /// Requirements: the caller is the tab's viewer, or the tab has been idle for [`IDLE_TAB_MS`];
        /// the tab is not closing already. Emits [`TabClosing`].
        #[ink(message)]
        pub fn close_tab(&mut self, tab_id: u64) -> Result<Timestamp> {
            let mut tab = self.tabs.get(tab_id).ok_or(Error::NoTab { tab_id })?;
            let now = self.env().block_timestamp();
            let idle = now.saturating_sub(tab.last_activity_ms) >= IDLE_TAB_MS;
            if self.env().caller() != tab.viewer && !idle {
                return Err(Error::NotTabViewer { tab_id });
            }
            if tab.closing_since_ms.is_some() {
                return Err(Error::TabClosing { tab_id });
            }
            tab.closing_since_ms = Some(now);
            self.tabs.insert(tab_id, &tab);
            let ends_at_ms = now.saturating_add(self.dispute_window_ms);
            self.env().emit_event(TabClosing { tab_id, viewer: tab.viewer, ends_at_ms });
            Ok(ends_at_ms)
        }

        /// Finishes closing a tab whose dispute window has ended: pays its unspent balance to its
        /// viewer and deletes it. Anyone may call it (the refund always goes to the viewer). Returns
        /// the refund.
        ///
        /// Requirements: the tab is closing and its window has ended. Emits [`TabClosed`].
        #[ink(message)]
        pub fn finish_close(&mut self, tab_id: u64) -> Result<Balance> {
            let tab = self.tabs.get(tab_id).ok_or(Error::NoTab { tab_id })?;
            let since = tab.closing_since_ms.ok_or(Error::NotClosing { tab_id })?;
            let ends_at_ms = since.saturating_add(self.dispute_window_ms);
            if self.env().block_timestamp() < ends_at_ms {
                return Err(Error::DisputeWindowOpen { ends_at_ms });
            }
            // Effect, then Interaction.
            self.tabs.remove(tab_id);
            self.tab_of.remove(tab.viewer);
            self.tabs_balance = self.tabs_balance.checked_sub(tab.balance).ok_or(Error::Overflow)?;
            if tab.balance > 0 {
                self.env().transfer(tab.viewer, tab.balance).map_err(|_| Error::TransferFailed)?;
            }
            self.env().emit_event(TabClosed { tab_id, viewer: tab.viewer, refund: tab.balance });
            Ok(tab.balance)
        }

        /// An open tab.
        #[ink(message)]
        pub fn tab(&self, tab_id: u64) -> Option<Tab> {
            self.tabs.get(tab_id)
        }

        /// A viewer's open tab, if any.
        #[ink(message)]
        pub fn tab_of(&self, viewer: AccountId) -> Option<Tab> {
            self.tab_of.get(viewer).and_then(|id| self.tabs.get(id))
        }

        /// `(genesis hash, dispute window in milliseconds)`: what tab vouchers are bound to, and how
        /// long a closing tab stays open to settlements.
        #[ink(message)]
        pub fn tab_terms(&self) -> (Hash, u64) {
            (self.chain, self.dispute_window_ms)
        }

        /// Σ tab balances, in plancks (this contract holds them; conservation: its balance is this
        /// plus what it held before the first tab).
        #[ink(message)]
        pub fn tabs_balance(&self) -> Balance {
            self.tabs_balance
        }

        /// The exact bytes a session key signs for `claims` — `(watch, stream, rate, ticks)` in watch
        /// order — of tab `tab_id` on this contract.
        #[ink(message)]
        pub fn tab_voucher_payload(&self, tab_id: u64, claims: Vec<(u32, StreamId, Balance, u64)>) -> Vec<u8> {
            tab::tab_voucher_payload(self.chain.into(), self.env().account_id(), tab_id, &claims)
        }

        /// One voucher of a batch against the tab as this batch left it (read from storage the first
        /// time). On `Err` nothing of the tab changes.
        fn settle_tab_voucher(
            &self,
            v: &TabVoucher,
            caller: AccountId,
            now: Timestamp,
            tabs: &mut BTreeMap<u64, Tab>,
            creators: &mut BTreeMap<StreamId, AccountId>,
        ) -> Result<Vec<WatchCharge>> {
            let tab_id = v.tab_id;
            let current = match tabs.get(&tab_id) {
                Some(t) => t.clone(),
                None => self.tabs.get(tab_id).ok_or(Error::NoTab { tab_id })?,
            };
            let claims = tab::signed_claims(&current, &v.entries)?;
            let payload = tab::tab_voucher_payload(self.chain.into(), self.env().account_id(), tab_id, &claims);
            if recover_signer(&v.signature, &payload)? != current.session_key {
                return Err(Error::BadSignature);
            }
            for stream_id in tab::new_streams(&current, &v.entries) {
                if let ink::prelude::collections::btree_map::Entry::Vacant(slot) = creators.entry(stream_id) {
                    let registry: StreamRegistryRef = ink::env::call::FromAccountId::from_account_id(self.registry);
                    let stream = registry.get_stream(stream_id).ok_or(Error::StreamNotFound { stream_id })?;
                    slot.insert(stream.creator);
                }
            }
            let by_relay = caller == current.relay;
            let mut next = current;
            let charges = tab::plan(&mut next, &v.entries, creators, by_relay, now, self.dispute_window_ms)?;
            tabs.insert(tab_id, next);
            Ok(charges)
        }

        /// The per-second rate a watch of `stream_id` beginning now agrees to.
        fn rate_now(&self, stream_id: StreamId) -> Result<Balance> {
            let pricing: PricingEngineRef = ink::env::call::FromAccountId::from_account_id(self.pricing);
            let plan = pricing.price_plan(stream_id).ok_or(Error::NoPricePlan { stream_id })?;
            let viewers = self.audience_at(stream_id, plan.rate_per_second);
            pricing_engine::current_rate(&plan, false, viewers).map_err(|e| pricing_error(stream_id, e))
        }

        /// `⌊plancks settled in the previous clock hour / (base_rate × 3 600)⌋`, saturating.
        fn audience_at(&self, stream_id: StreamId, base_rate: Balance) -> u32 {
            let hour = self.env().block_timestamp().checked_div(HOUR_MS).unwrap_or(0);
            let last_hour = self.stream_totals.get(stream_id).map_or(0, |t| t.earned.previous_to(hour));
            let viewers = last_hour.checked_div(base_rate.saturating_mul(3_600)).unwrap_or(0);
            u32::try_from(viewers).unwrap_or(u32::MAX)
        }
    }

    /// The pricing engine's refusal, named for its cause.
    fn pricing_error(stream_id: StreamId, e: pricing_engine::Error) -> Error {
        match e {
            pricing_engine::Error::Overflow => Error::RateOverflow { stream_id },
            _ => Error::NoPricePlan { stream_id },
        }
    }

    /// Half the order of secp256k1, big-endian: a canonical signature's `s` is at most this.
    const SECP256K1_HALF_ORDER: [u8; 32] = [
        0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x5D, 0x57,
        0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
    ];

    /// The compressed key that signed blake2-256(`payload`), for a signature in canonical form only.
    pub fn recover_signer(signature: &Signature, payload: &[u8]) -> Result<SessionKey> {
        // Recovery id 0 or 1 and a low s: one form per signature (27/28 and the high-s twin of a
        // signature recover the same key, so they are refused by name; other ids are not signatures).
        match signature[64] {
            0 | 1 => {}
            27 | 28 => return Err(Error::NonCanonicalSignature),
            _ => return Err(Error::BadSignature),
        }
        if signature[32..64] > SECP256K1_HALF_ORDER[..] {
            return Err(Error::NonCanonicalSignature);
        }
        let mut hash = <Blake2x256 as HashOutput>::Type::default();
        ink::env::hash_bytes::<Blake2x256>(payload, &mut hash);
        let mut signer = [0u8; 33];
        ink::env::ecdsa_recover(signature, &hash, &mut signer).map_err(|_| Error::BadSignature)?;
        Ok(signer)
    }
}

pub mod tab;

pub use self::tick_stream::{
    recover_signer, Error, HourlyEarnings, SessionKey, StreamTotals, Signature, TabClosed, TabClosing, TabOpened, TabSettled,
    TabToppedUp, TabVoucherRefused, TickStream, TickStreamRef, IDLE_TAB_MS, MAX_DISPUTE_WINDOW_MS, MAX_RATES,
    MAX_TAB_BATCH, MIN_DISPUTE_WINDOW_MS,
};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tab_tests;
