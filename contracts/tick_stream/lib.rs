//! # Tick stream
//!
//! ## Overview
//! Watch time, proven by the viewer. A viewer joins a live stream once (`join_stream`: one wallet
//! approval that can also carry the escrow deposit) and registers a **session key** — a secp256k1 key
//! made in their browser. While watching, the browser signs a *cumulative* tick voucher every second
//! with that key, off chain and free. Anyone — the viewer, the creator or a relay — submits the latest
//! voucher (`record_ticks`), or many viewers' vouchers in one call (`record_ticks_batch`); the contract
//! checks each signature, charges `rate × (cumulative − already settled)` through the payment handler,
//! and remembers the new count. The seed's TickStream pallet (`record_tick`, `join_stream`), with
//! its hole closed: nobody can tick for a viewer without the viewer's key.
//!
//! ## The voucher
//! The session key signs `blake2_256(SCALE(VOUCHER_DOMAIN, contract, stream_id, viewer, session_id,
//! cumulative_ticks))` — see [`voucher_payload`]. The contract address, stream and session id make a
//! voucher worthless anywhere else; a fresh session id per join makes old vouchers worthless after a
//! rejoin. The signature is ECDSA over secp256k1 (65 bytes, RSV), checked with the stable
//! `ecdsa_recover` host function, so the contract runs on production pallet-contracts chains.
//!
//! ## Invariants
//! - `session.ticks_settled` only grows, and only to a count the session key signed.
//! - Charged for a session `≤ rate × ticks_settled ≤ rate × max signed count` (the rate is locked at
//!   join); the payment handler caps each charge at the escrow, and when it cannot cover a voucher
//!   the session ends (zero runway).
//! - `live_viewers(s) = |{ v : sessions[(s, v)] exists }|`; storage per session is one entry, deleted
//!   when the session ends.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod tick_stream {
    use ink::env::hash::{Blake2x256, HashOutput};
    use ink::prelude::{collections::BTreeMap, vec::Vec};
    use ink::storage::Mapping;
    use payment_handler::{Charge, PaymentHandlerRef};
    use pricing_engine::PricingEngineRef;
    use stream_registry::{StreamId, StreamRegistryRef};

    /// Domain tag in every voucher payload, so a voucher signature means nothing to other protocols.
    pub const VOUCHER_DOMAIN: [u8; 16] = *b"vilokanam:tick:1";
    /// Most vouchers one `record_ticks_batch` call takes. The call's input (121 bytes per voucher)
    /// and the charges it forwards share ink!'s 16 KiB static buffer; 128 no longer fit
    /// (`OutputBufferTooSmall`, measured in benches/batch.ts), 100 do.
    pub const MAX_BATCH: u32 = 100;
    /// A session with no settlement for this long may be ended by anyone, in milliseconds.
    pub const IDLE_TIMEOUT_MS: u64 = 10 * 60 * 1_000;

    /// A compressed secp256k1 public key (33 bytes).
    pub type SessionKey = [u8; 33];
    /// An ECDSA signature in RSV form (65 bytes).
    pub type Signature = [u8; 65];

    /// A viewer's claim: "I have watched `cumulative_ticks` seconds of this session".
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct Voucher {
        /// The stream watched.
        pub stream_id: StreamId,
        /// The viewer who signed.
        pub viewer: AccountId,
        /// The session the count belongs to.
        pub session_id: u64,
        /// Seconds watched in this session, in total (not since the last voucher).
        pub cumulative_ticks: u64,
    }

    /// A voucher with its session-key signature.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct SignedVoucher {
        /// The claim.
        pub voucher: Voucher,
        /// ECDSA signature of [`voucher_payload`] by the session key.
        pub signature: Signature,
    }

    /// One viewer's watching of one stream, from join to leave.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Session {
        /// Unique across all sessions of this contract.
        pub id: u64,
        /// The key whose signatures count for this session.
        pub session_key: SessionKey,
        /// The stream's creator, paid for this session.
        pub creator: AccountId,
        /// Locked at join, in plancks per second.
        pub rate_per_second: Balance,
        /// Highest cumulative count settled so far.
        pub ticks_settled: u64,
        /// Join time, in milliseconds since the Unix epoch.
        pub joined_at_ms: Timestamp,
        /// Time of the last settlement (or the join), in milliseconds.
        pub last_activity_ms: Timestamp,
    }

    /// What settling one voucher did.
    #[derive(Debug, PartialEq, Eq, Clone, Copy, Default)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct TickReceipt {
        /// Seconds newly settled (0 for a stale or repeated voucher).
        pub new_ticks: u64,
        /// Plancks charged for them.
        pub amount: Balance,
        /// Whether the session ended because the escrow ran out.
        pub session_ended: bool,
    }

    /// Why a session ended.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub enum EndReason {
        /// The viewer left.
        Left,
        /// A voucher asked for more seconds than the escrow could pay.
        OutOfFunds,
        /// No settlement for [`IDLE_TIMEOUT_MS`].
        Idle,
    }

    /// A viewer joined a stream.
    #[ink(event)]
    pub struct ViewerJoined {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// The viewer.
        #[ink(topic)]
        pub viewer: AccountId,
        /// The new session's id.
        pub session_id: u64,
        /// The locked rate, in plancks per second.
        pub rate_per_second: Balance,
    }

    /// A voucher was settled (the seed's `TickRecorded`).
    #[ink(event)]
    pub struct TicksRecorded {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// The viewer.
        #[ink(topic)]
        pub viewer: AccountId,
        /// The session.
        pub session_id: u64,
        /// The settled cumulative count.
        pub cumulative_ticks: u64,
        /// Seconds newly settled.
        pub new_ticks: u64,
        /// Plancks charged.
        pub amount: Balance,
    }

    /// One voucher of a batch was refused and changed nothing (the others of the batch went on).
    /// The relay reads this from the block to learn why, instead of trusting a dry run.
    #[ink(event)]
    pub struct VoucherRefused {
        /// The voucher's stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// The voucher's viewer.
        #[ink(topic)]
        pub viewer: AccountId,
        /// The voucher's session.
        pub session_id: u64,
        /// The voucher's cumulative count.
        pub cumulative_ticks: u64,
        /// Why it was refused.
        pub error: Error,
    }

    /// A session ended and its storage was deleted.
    #[ink(event)]
    pub struct ViewerLeft {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// The viewer.
        #[ink(topic)]
        pub viewer: AccountId,
        /// The session.
        pub session_id: u64,
        /// Seconds settled in the session.
        pub ticks: u64,
        /// Why it ended.
        pub reason: EndReason,
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
        /// The stream is not live.
        StreamOffline { stream_id: StreamId },
        /// The stream has no price plan.
        NoPricePlan { stream_id: StreamId },
        /// The current rate is above the most the viewer accepts.
        RateAboveLimit { rate: Balance, max: Balance },
        /// The escrow does not cover one second at the rate.
        InsufficientEscrow { needed: Balance, available: Balance },
        /// The viewer already has a session on this stream.
        AlreadyJoined { stream_id: StreamId },
        /// The viewer has no session on this stream.
        NoSession { stream_id: StreamId, viewer: AccountId },
        /// The voucher names another session (an old one, or someone else's).
        WrongSession { expected: u64, got: u64 },
        /// The signature is not the session key's signature of this voucher.
        BadSignature,
        /// The signature is not in canonical form: `s` must be in the lower half of the curve order
        /// and the recovery id 0 or 1 (each signature has one accepted form, not twins).
        NonCanonicalSignature,
        /// The final voucher given to `leave_stream` is for another stream or viewer than the session
        /// being left.
        FinalVoucherMismatch { stream_id: StreamId, viewer: AccountId },
        /// The stream's dynamic price rule overflows at this audience size.
        RateOverflow { stream_id: StreamId },
        /// The session key is not a valid compressed secp256k1 key.
        InvalidSessionKey,
        /// The session has been active within [`IDLE_TIMEOUT_MS`].
        NotIdle { idle_for_ms: u64 },
        /// More vouchers than [`MAX_BATCH`].
        BatchTooLarge { max: u32 },
        /// The payment handler refused (this contract is not wired to it).
        PaymentFailed,
        /// A counter does not fit.
        Overflow,
    }

    /// Result type of this contract's messages.
    pub type Result<T> = core::result::Result<T, Error>;

    /// The contract's storage.
    #[ink(storage)]
    pub struct TickStream {
        /// The stream registry (is a stream live, who created it).
        registry: AccountId,
        /// The pricing engine (the rate locked at join).
        pricing: AccountId,
        /// The payment handler (escrow and charges).
        payments: AccountId,
        /// Sessions by (stream, viewer).
        sessions: Mapping<(StreamId, AccountId), Session>,
        /// Id of the next session.
        next_session_id: u64,
        /// Open sessions per stream.
        live_viewers: Mapping<StreamId, u32>,
        /// Settled seconds per stream, all sessions.
        stream_ticks: Mapping<StreamId, u64>,
        /// Settled seconds per (stream, viewer) of ended sessions (the open session's count is added
        /// on read, so settlement does not touch this).
        viewer_ticks: Mapping<(StreamId, AccountId), u64>,
    }

    impl TickStream {
        /// A tick_stream wired to the other three contracts.
        #[ink(constructor)]
        pub fn new(registry: AccountId, pricing: AccountId, payments: AccountId) -> Self {
            Self {
                registry,
                pricing,
                payments,
                sessions: Mapping::default(),
                next_session_id: 1,
                live_viewers: Mapping::default(),
                stream_ticks: Mapping::default(),
                viewer_ticks: Mapping::default(),
            }
        }

        /// Joins a live stream: locks the current rate (refused if above `max_rate_per_second`),
        /// registers `session_key`, and deposits any value sent into the caller's escrow — all in one
        /// wallet approval. Returns the new session.
        ///
        /// Requirements: the stream is live and priced; no open session of the caller on it; the
        /// escrow (after the deposit) covers one second, unless the rate is zero or the caller holds a
        /// live subscription. Emits [`ViewerJoined`].
        #[ink(message, payable)]
        pub fn join_stream(
            &mut self,
            stream_id: StreamId,
            session_key: SessionKey,
            max_rate_per_second: Balance,
            premium: bool,
        ) -> Result<Session> {
            let viewer = self.env().caller();
            if self.sessions.contains((stream_id, viewer)) {
                return Err(Error::AlreadyJoined { stream_id });
            }
            if !matches!(session_key[0], 0x02 | 0x03) {
                return Err(Error::InvalidSessionKey);
            }
            let registry: StreamRegistryRef = ink::env::call::FromAccountId::from_account_id(self.registry);
            let stream = registry.get_stream(stream_id).ok_or(Error::StreamNotFound { stream_id })?;
            if !stream.live {
                return Err(Error::StreamOffline { stream_id });
            }
            let viewers = self.live_viewers(stream_id);
            let pricing: PricingEngineRef = ink::env::call::FromAccountId::from_account_id(self.pricing);
            let rate = pricing.rate_for(stream_id, premium, viewers).map_err(|e| pricing_error(stream_id, e))?;
            if rate > max_rate_per_second {
                return Err(Error::RateAboveLimit { rate, max: max_rate_per_second });
            }

            let mut payments: PaymentHandlerRef = ink::env::call::FromAccountId::from_account_id(self.payments);
            let deposit = self.env().transferred_value();
            if deposit > 0 {
                use ink::codegen::TraitCallBuilder;
                payments
                    .call_mut()
                    .deposit_for(viewer)
                    .transferred_value(deposit)
                    .invoke()
                    .map_err(|_| Error::PaymentFailed)?;
            }
            if rate > 0 && !payments.has_subscription(viewer, stream_id) {
                let available = payments.escrow_of(viewer);
                if available < rate {
                    return Err(Error::InsufficientEscrow { needed: rate, available });
                }
            }

            let now = self.env().block_timestamp();
            let session = Session {
                id: self.next_session_id,
                session_key,
                creator: stream.creator,
                rate_per_second: rate,
                ticks_settled: 0,
                joined_at_ms: now,
                last_activity_ms: now,
            };
            self.next_session_id = self.next_session_id.checked_add(1).ok_or(Error::Overflow)?;
            self.sessions.insert((stream_id, viewer), &session);
            self.live_viewers.insert(stream_id, &viewers.checked_add(1).ok_or(Error::Overflow)?);
            self.env().emit_event(ViewerJoined { stream_id, viewer, session_id: session.id, rate_per_second: rate });
            Ok(session)
        }

        /// Settles one viewer's latest voucher. Anyone may submit it. A voucher at or below the
        /// settled count changes nothing and is not an error (settlement is idempotent). Emits
        /// [`TicksRecorded`].
        #[ink(message)]
        pub fn record_ticks(&mut self, signed: SignedVoucher) -> Result<TickReceipt> {
            self.record_ticks_batch(ink::prelude::vec![signed])?
                .pop()
                .unwrap_or(Err(Error::Overflow))
        }

        /// Settles many viewers' vouchers in one call, each on its own: a bad voucher is refused with
        /// its error in the returned list and does not stop the others. Emits [`TicksRecorded`] for
        /// each voucher settled (with no new seconds if it was already), [`VoucherRefused`] for each
        /// refused, and [`ViewerLeft`] for each session that ran out of funds.
        ///
        /// Requirements: at most [`MAX_BATCH`] vouchers.
        #[ink(message)]
        pub fn record_ticks_batch(&mut self, vouchers: Vec<SignedVoucher>) -> Result<Vec<Result<TickReceipt>>> {
            if vouchers.len() > MAX_BATCH as usize {
                return Err(Error::BatchTooLarge { max: MAX_BATCH });
            }
            let me = self.env().account_id();
            // Check every voucher against the session as it stands after the vouchers before it in
            // this batch (so a batch never pays a second twice), and collect the charges for one
            // call to the payment handler. Sessions are read once and written once per batch.
            // Per session in this batch: the session as stored, and the highest count charged so far.
            let mut seen: BTreeMap<(StreamId, AccountId), (Session, u64)> = BTreeMap::new();
            let mut asked: Vec<Result<u64>> = Vec::with_capacity(vouchers.len());
            let mut charges = Vec::new();
            for signed in &vouchers {
                let v = &signed.voucher;
                let key = (v.stream_id, v.viewer);
                if !seen.contains_key(&key) {
                    if let Some(stored) = self.sessions.get(key) {
                        let settled = stored.ticks_settled;
                        seen.insert(key, (stored, settled));
                    }
                }
                let result = match seen.get_mut(&key) {
                    None => Err(Error::NoSession { stream_id: v.stream_id, viewer: v.viewer }),
                    Some((stored, highest)) => {
                        let mut s = stored.clone();
                        s.ticks_settled = *highest;
                        new_ticks(me, &s, signed).map(|n| {
                            if n > 0 {
                                charges.push(Charge {
                                    viewer: v.viewer,
                                    stream_id: v.stream_id,
                                    creator: s.creator,
                                    ticks: n,
                                    rate_per_second: s.rate_per_second,
                                });
                                *highest = v.cumulative_ticks;
                            }
                            n
                        })
                    }
                };
                asked.push(result);
            }
            let mut settlements = if charges.is_empty() {
                Vec::new()
            } else {
                let mut payments: PaymentHandlerRef = ink::env::call::FromAccountId::from_account_id(self.payments);
                payments.settle_many(charges).map_err(|_| Error::PaymentFailed)?
            }
            .into_iter();

            // Effects, in the order the charges were made, on the sessions as stored (read above).
            let now = self.env().block_timestamp();
            let mut sessions: BTreeMap<(StreamId, AccountId), Option<Session>> = BTreeMap::new();
            let mut per_stream: BTreeMap<StreamId, u64> = BTreeMap::new();
            let mut receipts = Vec::with_capacity(vouchers.len());
            for (signed, result) in vouchers.iter().zip(asked) {
                let v = &signed.voucher;
                if let Err(error) = &result {
                    self.env().emit_event(VoucherRefused {
                        stream_id: v.stream_id,
                        viewer: v.viewer,
                        session_id: v.session_id,
                        cumulative_ticks: v.cumulative_ticks,
                        error: error.clone(),
                    });
                }
                let receipt = result.map(|asked| {
                    let key = (v.stream_id, v.viewer);
                    let current = match sessions.get(&key) {
                        Some(s) => s.clone(),
                        None => seen.get(&key).map(|(stored, _)| stored.clone()),
                    };
                    if asked == 0 {
                        // Already settled (settlement is idempotent): the block says so, for whoever
                        // submitted it to read.
                        if let Some(session) = &current {
                            self.env().emit_event(TicksRecorded {
                                stream_id: v.stream_id,
                                viewer: v.viewer,
                                session_id: session.id,
                                cumulative_ticks: session.ticks_settled,
                                new_ticks: 0,
                                amount: 0,
                            });
                        }
                        return TickReceipt::default();
                    }
                    let paid = settlements.next().unwrap_or_default();
                    let Some(mut session) = current else {
                        // Ended by an earlier voucher of this batch (out of funds): nothing was paid.
                        return TickReceipt { new_ticks: paid.ticks_paid, amount: paid.amount, session_ended: true };
                    };
                    session.ticks_settled = session.ticks_settled.saturating_add(paid.ticks_paid);
                    session.last_activity_ms = now;
                    let total = per_stream.entry(v.stream_id).or_insert(0);
                    *total = total.saturating_add(paid.ticks_paid);
                    self.env().emit_event(TicksRecorded {
                        stream_id: v.stream_id,
                        viewer: v.viewer,
                        session_id: session.id,
                        cumulative_ticks: session.ticks_settled,
                        new_ticks: paid.ticks_paid,
                        amount: paid.amount,
                    });
                    let out_of_funds = paid.ticks_paid < asked;
                    if out_of_funds {
                        self.end_session(v.stream_id, v.viewer, &session, EndReason::OutOfFunds);
                        sessions.insert(key, None);
                    } else {
                        sessions.insert(key, Some(session));
                    }
                    TickReceipt { new_ticks: paid.ticks_paid, amount: paid.amount, session_ended: out_of_funds }
                });
                receipts.push(receipt);
            }
            for (key, session) in sessions {
                if let Some(session) = session {
                    self.sessions.insert(key, &session);
                }
            }
            for (stream_id, ticks) in per_stream {
                let total = self.stream_ticks(stream_id).saturating_add(ticks);
                self.stream_ticks.insert(stream_id, &total);
            }
            Ok(receipts)
        }

        /// Ends the caller's session on `stream_id`: settles `final_voucher` if given, deletes the
        /// session, and with `refund` returns all unspent escrow to the caller. Returns the refund.
        /// Emits [`TicksRecorded`] for the final voucher and [`ViewerLeft`]; the refund is the
        /// payment handler's `Withdrawn` event.
        #[ink(message)]
        pub fn leave_stream(
            &mut self,
            stream_id: StreamId,
            final_voucher: Option<SignedVoucher>,
            refund: bool,
        ) -> Result<Balance> {
            let viewer = self.env().caller();
            if let Some(signed) = final_voucher {
                if signed.voucher.viewer != viewer || signed.voucher.stream_id != stream_id {
                    return Err(Error::FinalVoucherMismatch { stream_id, viewer });
                }
                let receipt = self.record_ticks(signed)?;
                if receipt.session_ended {
                    return self.refund_to(viewer, refund);
                }
            }
            let session = self
                .sessions
                .get((stream_id, viewer))
                .ok_or(Error::NoSession { stream_id, viewer })?;
            self.end_session(stream_id, viewer, &session, EndReason::Left);
            self.refund_to(viewer, refund)
        }

        /// Ends a session nobody has settled for [`IDLE_TIMEOUT_MS`], so that abandoned sessions do
        /// not count as viewers. Anyone may call it. Emits [`ViewerLeft`].
        #[ink(message)]
        pub fn end_idle_session(&mut self, stream_id: StreamId, viewer: AccountId) -> Result<()> {
            let session = self
                .sessions
                .get((stream_id, viewer))
                .ok_or(Error::NoSession { stream_id, viewer })?;
            let idle_for_ms = self.env().block_timestamp().saturating_sub(session.last_activity_ms);
            if idle_for_ms < IDLE_TIMEOUT_MS {
                return Err(Error::NotIdle { idle_for_ms });
            }
            self.end_session(stream_id, viewer, &session, EndReason::Idle);
            Ok(())
        }

        /// The viewer's open session on a stream, if any.
        #[ink(message)]
        pub fn session_of(&self, stream_id: StreamId, viewer: AccountId) -> Option<Session> {
            self.sessions.get((stream_id, viewer))
        }

        /// Open sessions on a stream.
        #[ink(message)]
        pub fn live_viewers(&self, stream_id: StreamId) -> u32 {
            self.live_viewers.get(stream_id).unwrap_or(0)
        }

        /// Settled seconds of a stream, all viewers and sessions.
        #[ink(message)]
        pub fn stream_ticks(&self, stream_id: StreamId) -> u64 {
            self.stream_ticks.get(stream_id).unwrap_or(0)
        }

        /// Settled seconds of one viewer on a stream, all sessions.
        #[ink(message)]
        pub fn viewer_ticks(&self, stream_id: StreamId, viewer: AccountId) -> u64 {
            let open = self.sessions.get((stream_id, viewer)).map_or(0, |s| s.ticks_settled);
            self.viewer_ticks.get((stream_id, viewer)).unwrap_or(0).saturating_add(open)
        }

        /// What `seconds` more cost `viewer` on `stream_id`: at their locked rate when they have a
        /// session, otherwise at the rate they would lock by joining now. In plancks.
        #[ink(message)]
        pub fn quote(&self, stream_id: StreamId, viewer: AccountId, seconds: u64) -> Result<Balance> {
            let rate = match self.sessions.get((stream_id, viewer)) {
                Some(s) => s.rate_per_second,
                None => {
                    let pricing: PricingEngineRef = ink::env::call::FromAccountId::from_account_id(self.pricing);
                    pricing
                        .rate_for(stream_id, false, self.live_viewers(stream_id))
                        .map_err(|e| pricing_error(stream_id, e))?
                }
            };
            rate.checked_mul(Balance::from(seconds)).ok_or(Error::Overflow)
        }

        /// The exact bytes a session key signs for `voucher` on this contract.
        #[ink(message)]
        pub fn voucher_payload(&self, voucher: Voucher) -> Vec<u8> {
            voucher_payload(self.env().account_id(), &voucher)
        }

        /// `(registry, pricing, payments)`.
        #[ink(message)]
        pub fn wiring(&self) -> (AccountId, AccountId, AccountId) {
            (self.registry, self.pricing, self.payments)
        }

        fn end_session(&mut self, stream_id: StreamId, viewer: AccountId, session: &Session, reason: EndReason) {
            self.sessions.remove((stream_id, viewer));
            // Statistics only; saturating so that they can never block ending a session.
            let ticks = self.viewer_ticks.get((stream_id, viewer)).unwrap_or(0).saturating_add(session.ticks_settled);
            self.viewer_ticks.insert((stream_id, viewer), &ticks);
            let left = self.live_viewers(stream_id).saturating_sub(1);
            if left == 0 {
                self.live_viewers.remove(stream_id);
            } else {
                self.live_viewers.insert(stream_id, &left);
            }
            self.env().emit_event(ViewerLeft {
                stream_id,
                viewer,
                session_id: session.id,
                ticks: session.ticks_settled,
                reason,
            });
        }

        fn refund_to(&mut self, viewer: AccountId, refund: bool) -> Result<Balance> {
            if !refund {
                return Ok(0);
            }
            let mut payments: PaymentHandlerRef = ink::env::call::FromAccountId::from_account_id(self.payments);
            payments.refund(viewer).map_err(|_| Error::PaymentFailed)
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

    /// The bytes a session key signs: `SCALE(VOUCHER_DOMAIN, contract, stream_id, viewer, session_id,
    /// cumulative_ticks)`; the signature covers their blake2-256 hash.
    pub fn voucher_payload(contract: AccountId, v: &Voucher) -> Vec<u8> {
        use ink::scale::Encode;
        (VOUCHER_DOMAIN, contract, v.stream_id, v.viewer, v.session_id, v.cumulative_ticks).encode()
    }

    /// Seconds this voucher adds to `session`, after checking that the session key signed it for this
    /// contract and session. 0 when the voucher is not above the settled count.
    pub fn new_ticks(contract: AccountId, session: &Session, signed: &SignedVoucher) -> Result<u64> {
        let v = &signed.voucher;
        if v.session_id != session.id {
            return Err(Error::WrongSession { expected: session.id, got: v.session_id });
        }
        // Recovery id 0 or 1 and a low s: one form per signature (27/28 and the high-s twin of a
        // signature recover the same key, so they are refused by name; other ids are not signatures).
        match signed.signature[64] {
            0 | 1 => {}
            27 | 28 => return Err(Error::NonCanonicalSignature),
            _ => return Err(Error::BadSignature),
        }
        if signed.signature[32..64] > SECP256K1_HALF_ORDER[..] {
            return Err(Error::NonCanonicalSignature);
        }
        let mut hash = <Blake2x256 as HashOutput>::Type::default();
        ink::env::hash_bytes::<Blake2x256>(&voucher_payload(contract, v), &mut hash);
        let mut signer = [0u8; 33];
        ink::env::ecdsa_recover(&signed.signature, &hash, &mut signer).map_err(|_| Error::BadSignature)?;
        if signer != session.session_key {
            return Err(Error::BadSignature);
        }
        Ok(v.cumulative_ticks.saturating_sub(session.ticks_settled))
    }
}

pub use self::tick_stream::{
    new_ticks, voucher_payload, EndReason, Error, Session, SessionKey, Signature, SignedVoucher, TickReceipt,
    TickStream, TickStreamRef, Voucher, VoucherRefused, IDLE_TIMEOUT_MS, MAX_BATCH, VOUCHER_DOMAIN,
};

#[cfg(test)]
mod tests;
