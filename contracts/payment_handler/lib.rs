//! # Payment handler
//!
//! ## Overview
//! Holds the money. Viewers escrow funds (`deposit`, `deposit_for`) and take back what is unspent at
//! any time (`withdraw`, `refund`). The only way escrow becomes a creator's earnings is
//! [`PaymentHandler::settle`], callable only by the tick_stream contract after it has checked a
//! viewer-signed voucher — the seed's `process_payment`, now authorized. Creators pull their earnings
//! per stream (`withdraw_earnings`, which really transfers to the creator). An optional platform fee in
//! basis points, capped at [`MAX_FEE_BPS`], is set by the admin. A subscription bought for a stream's
//! tier grants access without per-second charges until it expires.
//!
//! ## Invariants (checked by the property test in tests.rs and after every e2e operation)
//! - Conservation: `balance(self) = Σ_v escrow[v] + Σ_s earnings[s] + fees`
//!   (`total_escrow` and `total_earnings` are those sums, kept in step by the only functions that move
//!   money: `credit_escrow`, `debit_escrow`, `book_earnings`).
//! - No debt: `settle` charges `min(ticks, ⌊escrow / rate⌋) × rate ≤ escrow`.
//! - `fee = ⌊amount × fee_bps / 10 000⌋`, `fee_bps ≤ MAX_FEE_BPS`.
//!
//! Every transfer out follows Check / Effect / Interaction; a message returning `Err` reverts all of
//! its state changes (ink! semantics), so a failed transfer changes nothing.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod payment_handler {
    use ink::prelude::{collections::BTreeMap, vec::Vec};
    use ink::storage::Mapping;
    use pricing_engine::PricingEngineRef;
    use stream_registry::StreamId;

    /// Most charges one `settle_many` call takes: tick_stream's batch limit.
    pub const MAX_BATCH: u32 = 100;
    /// Highest platform fee: 1 000 basis points = 10 %.
    pub const MAX_FEE_BPS: u16 = 1_000;
    const BPS_DENOMINATOR: Balance = 10_000;

    /// One viewer's watched seconds to pay for, as tick_stream sends them.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct Charge {
        /// Who pays.
        pub viewer: AccountId,
        /// For which stream.
        pub stream_id: StreamId,
        /// The stream's creator, who may withdraw the earnings.
        pub creator: AccountId,
        /// Newly authorized seconds.
        pub ticks: u64,
        /// The rate locked at join, in plancks per second.
        pub rate_per_second: Balance,
    }

    /// What one settlement did.
    #[derive(Debug, PartialEq, Eq, Clone, Copy, Default)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct Settlement {
        /// Ticks (seconds) paid for, `≤` the ticks asked for.
        pub ticks_paid: u64,
        /// Plancks taken from the viewer's escrow.
        pub amount: Balance,
        /// Of `amount`, plancks kept as the platform fee.
        pub fee: Balance,
        /// Whether the viewer had a live subscription (nothing charged).
        pub subscribed: bool,
    }

    /// A viewer's escrow grew.
    #[ink(event)]
    pub struct Deposited {
        /// Whose escrow.
        #[ink(topic)]
        pub viewer: AccountId,
        /// Plancks added.
        pub amount: Balance,
    }

    /// Unspent escrow went back to its viewer.
    #[ink(event)]
    pub struct Withdrawn {
        /// Whose escrow.
        #[ink(topic)]
        pub viewer: AccountId,
        /// Plancks returned.
        pub amount: Balance,
    }

    /// Escrow was charged for watched seconds.
    #[ink(event)]
    pub struct Charged {
        /// Who paid.
        #[ink(topic)]
        pub viewer: AccountId,
        /// For which stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// Seconds paid for.
        pub ticks: u64,
        /// Plancks taken from escrow (fee included).
        pub amount: Balance,
        /// Plancks of `amount` kept as fee.
        pub fee: Balance,
    }

    /// A subscription was bought or extended.
    #[ink(event)]
    pub struct SubscriptionPurchased {
        /// The subscriber.
        #[ink(topic)]
        pub viewer: AccountId,
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// The tier index.
        pub tier: u32,
        /// Plancks paid.
        pub price: Balance,
        /// New expiry, in milliseconds since the Unix epoch.
        pub expires_at_ms: Timestamp,
    }

    /// A creator took their earnings.
    #[ink(event)]
    pub struct EarningsWithdrawn {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// Its creator, who received them.
        #[ink(topic)]
        pub creator: AccountId,
        /// Plancks paid out.
        pub amount: Balance,
    }

    /// The platform fee changed.
    #[ink(event)]
    pub struct FeeChanged {
        /// New fee, in basis points.
        pub fee_bps: u16,
    }

    /// Collected fees were paid out.
    #[ink(event)]
    pub struct FeesWithdrawn {
        /// Who received them.
        #[ink(topic)]
        pub to: AccountId,
        /// Plancks paid out.
        pub amount: Balance,
    }

    /// Why a message was refused. Nothing changes when one is returned.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    // The SCALE derive casts the variant index with `as u8`; clippy 1.96 flags that inside the
    // expansion. Our own code keeps cargo-contract's -D clippy::cast_possible_truncation.
    #[allow(clippy::cast_possible_truncation)]
    pub enum Error {
        /// An amount of zero was given where value must move.
        ZeroAmount,
        /// The escrow holds less than asked for.
        InsufficientEscrow { available: Balance, requested: Balance },
        /// Only the admin may do this.
        NotAdmin,
        /// Only the tick_stream contract may charge escrow.
        NotTickStream,
        /// The tick_stream contract is already wired.
        TickStreamAlreadySet,
        /// The address to wire is not a contract running the named tick_stream code (`found`: its code
        /// hash, none for an ordinary account).
        NotTickStreamCode { expected: Hash, found: Option<Hash> },
        /// Only the viewer (or tick_stream on their behalf) may refund their escrow.
        NotViewer,
        /// The caller is not the creator recorded for this stream.
        NotCreator { stream_id: StreamId },
        /// There is nothing to withdraw.
        NothingToWithdraw,
        /// The fee is above [`MAX_FEE_BPS`].
        FeeTooHigh { max: u16 },
        /// The value sent is not the tier's price.
        WrongPayment { expected: Balance, received: Balance },
        /// The tier's period is not the one the buyer named: the creator changed it since the buyer
        /// read the terms. Nothing was paid.
        TermsChanged { period_ms: u64, expected_period_ms: u64 },
        /// The pricing engine refused (no plan, no such tier).
        NoSuchTier { stream_id: StreamId, tier: u32 },
        /// The chain refused the transfer (for example, it would leave a new account below the
        /// existential deposit).
        TransferFailed,
        /// More charges than [`MAX_BATCH`] in one call.
        BatchTooLarge { max: u32 },
        /// An amount does not fit in a Balance.
        Overflow,
    }

    /// Result type of this contract's messages.
    pub type Result<T> = core::result::Result<T, Error>;

    /// The handler's storage.
    #[ink(storage)]
    pub struct PaymentHandler {
        /// May set the fee and take collected fees.
        admin: AccountId,
        /// The pricing engine (subscription terms).
        pricing: AccountId,
        /// The only contract allowed to charge escrow; wired once after deployment.
        tick_stream: Option<AccountId>,
        /// The code hash the wired tick_stream runs (checked when wiring; anyone can compare it with
        /// the published one).
        tick_stream_code_hash: Option<Hash>,
        /// Platform fee in basis points.
        fee_bps: u16,
        /// Unspent funds per viewer, in plancks.
        escrow: Mapping<AccountId, Balance>,
        /// Unwithdrawn earnings per stream, in plancks.
        earnings: Mapping<StreamId, Balance>,
        /// Who may withdraw a stream's earnings (learned from tick_stream or the pricing engine).
        stream_creator: Mapping<StreamId, AccountId>,
        /// Subscription expiry per (viewer, stream), in milliseconds since the Unix epoch.
        subscriptions: Mapping<(AccountId, StreamId), Timestamp>,
        /// Collected, unwithdrawn fees, in plancks.
        fees: Balance,
        /// Σ escrow, in plancks.
        total_escrow: Balance,
        /// Σ earnings, in plancks.
        total_earnings: Balance,
    }

    impl PaymentHandler {
        /// A handler with the caller as admin.
        ///
        /// Requirements: `fee_bps ≤ MAX_FEE_BPS`.
        #[ink(constructor)]
        pub fn new(pricing: AccountId, fee_bps: u16) -> Result<Self> {
            if fee_bps > MAX_FEE_BPS {
                return Err(Error::FeeTooHigh { max: MAX_FEE_BPS });
            }
            Ok(Self {
                admin: Self::env().caller(),
                pricing,
                tick_stream: None,
                tick_stream_code_hash: None,
                fee_bps,
                escrow: Mapping::default(),
                earnings: Mapping::default(),
                stream_creator: Mapping::default(),
                subscriptions: Mapping::default(),
                fees: 0,
                total_escrow: 0,
                total_earnings: 0,
            })
        }

        /// Wires the tick_stream contract, once. Admin only. `code_hash` names the code it must run
        /// (the published tick_stream hash): an ordinary account, or a contract running other code,
        /// would be able to charge every escrow, so it is refused.
        #[ink(message)]
        pub fn set_tick_stream(&mut self, tick_stream: AccountId, code_hash: Hash) -> Result<()> {
            self.only_admin()?;
            if self.tick_stream.is_some() {
                return Err(Error::TickStreamAlreadySet);
            }
            let found = self.env().code_hash(&tick_stream).ok();
            if found != Some(code_hash) {
                return Err(Error::NotTickStreamCode { expected: code_hash, found });
            }
            self.tick_stream = Some(tick_stream);
            self.tick_stream_code_hash = Some(code_hash);
            Ok(())
        }

        /// Adds the value sent to the caller's escrow. Emits [`Deposited`].
        #[ink(message, payable)]
        pub fn deposit(&mut self) -> Result<Balance> {
            let viewer = self.env().caller();
            self.deposit_for(viewer)
        }

        /// Adds the value sent to `viewer`'s escrow (anyone may top up anyone). Emits [`Deposited`].
        #[ink(message, payable)]
        pub fn deposit_for(&mut self, viewer: AccountId) -> Result<Balance> {
            let amount = self.env().transferred_value();
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            self.credit_escrow(viewer, amount)?;
            self.env().emit_event(Deposited { viewer, amount });
            Ok(self.escrow_of(viewer))
        }

        /// Returns `amount` of the caller's unspent escrow to them. Emits [`Withdrawn`].
        #[ink(message)]
        pub fn withdraw(&mut self, amount: Balance) -> Result<()> {
            let viewer = self.env().caller();
            self.pay_out_escrow(viewer, amount)
        }

        /// Returns all of `viewer`'s unspent escrow to them and the amount returned. Emits
        /// [`Withdrawn`] (nothing if no escrow was left).
        ///
        /// Requirements: the caller is `viewer`, or tick_stream acting on the viewer's `leave_stream`.
        #[ink(message)]
        pub fn refund(&mut self, viewer: AccountId) -> Result<Balance> {
            let caller = self.env().caller();
            if caller != viewer && Some(caller) != self.tick_stream {
                return Err(Error::NotViewer);
            }
            let amount = self.escrow_of(viewer);
            if amount == 0 {
                return Ok(0);
            }
            self.pay_out_escrow(viewer, amount)?;
            Ok(amount)
        }

        /// Charges one viewer for watched seconds; see [`PaymentHandler::settle_many`]. Emits
        /// [`Charged`] if money moved.
        #[ink(message)]
        pub fn settle(&mut self, charge: Charge) -> Result<Settlement> {
            self.settle_many(ink::prelude::vec![charge])?.pop().ok_or(Error::Overflow)
        }

        /// Charges each viewer for up to `ticks` seconds of `stream_id` at `rate_per_second` plancks,
        /// never more than their escrow holds, and credits the creator's earnings minus the fee.
        /// Nothing is charged while a viewer has a live subscription to the stream. One call settles a
        /// whole batch so that tick_stream pays for one cross-contract call, not one per viewer, and
        /// each stream's earnings are written once per batch, not once per viewer.
        ///
        /// Requirements: the caller is the wired tick_stream contract (which has checked the vouchers);
        /// at most [`MAX_BATCH`] charges. Emits [`Charged`] for each charge that moved money.
        #[ink(message)]
        pub fn settle_many(&mut self, charges: Vec<Charge>) -> Result<Vec<Settlement>> {
            self.only_tick_stream()?;
            if charges.len() > MAX_BATCH as usize {
                return Err(Error::BatchTooLarge { max: MAX_BATCH });
            }
            // (creator, net earnings, fee) per stream, booked after the loop.
            let mut per_stream: BTreeMap<StreamId, (AccountId, Balance, Balance)> = BTreeMap::new();
            let mut out = Vec::with_capacity(charges.len());
            for c in &charges {
                let s = self.charge_escrow(c)?;
                let entry = per_stream.entry(c.stream_id).or_insert((c.creator, 0, 0));
                entry.1 = entry.1.checked_add(s.amount.checked_sub(s.fee).ok_or(Error::Overflow)?).ok_or(Error::Overflow)?;
                entry.2 = entry.2.checked_add(s.fee).ok_or(Error::Overflow)?;
                out.push(s);
            }
            for (stream_id, (creator, net, fee)) in per_stream {
                self.stream_creator.insert(stream_id, &creator);
                self.book_earnings(stream_id, net, fee)?;
            }
            Ok(out)
        }

        /// Buys (or extends by one period) a subscription to tier `tier` of `stream_id`, on the terms
        /// the buyer names: its price is exactly the value sent, its period `period_ms` (a tier the
        /// creator changed since the buyer read it is refused). Emits [`SubscriptionPurchased`].
        #[ink(message, payable)]
        pub fn buy_subscription(&mut self, stream_id: StreamId, tier: u32, period_ms: u64) -> Result<Timestamp> {
            let viewer = self.env().caller();
            let received = self.env().transferred_value();
            let pricing: PricingEngineRef = ink::env::call::FromAccountId::from_account_id(self.pricing);
            let terms = pricing
                .subscription_terms(stream_id, tier)
                .map_err(|_| Error::NoSuchTier { stream_id, tier })?;
            if received != terms.price {
                return Err(Error::WrongPayment { expected: terms.price, received });
            }
            if terms.period_ms != period_ms {
                return Err(Error::TermsChanged { period_ms: terms.period_ms, expected_period_ms: period_ms });
            }
            let now = self.env().block_timestamp();
            let current = self.subscriptions.get((viewer, stream_id)).unwrap_or(0).max(now);
            let expires_at_ms = current.checked_add(terms.period_ms).ok_or(Error::Overflow)?;
            self.stream_creator.insert(stream_id, &terms.creator);
            self.credit_earnings(stream_id, received)?;
            self.subscriptions.insert((viewer, stream_id), &expires_at_ms);
            self.env().emit_event(SubscriptionPurchased { viewer, stream_id, tier, price: received, expires_at_ms });
            Ok(expires_at_ms)
        }

        /// Pays all of a stream's earnings to its creator. Emits [`EarningsWithdrawn`].
        ///
        /// Requirements: the caller is the stream's creator; there is something to withdraw.
        #[ink(message)]
        pub fn withdraw_earnings(&mut self, stream_id: StreamId) -> Result<Balance> {
            let creator = self.env().caller();
            if self.stream_creator.get(stream_id) != Some(creator) {
                return Err(Error::NotCreator { stream_id });
            }
            let amount = self.earnings_of(stream_id);
            if amount == 0 {
                return Err(Error::NothingToWithdraw);
            }
            // Effect, then Interaction.
            self.earnings.remove(stream_id);
            self.total_earnings = self.total_earnings.checked_sub(amount).ok_or(Error::Overflow)?;
            self.env().transfer(creator, amount).map_err(|_| Error::TransferFailed)?;
            self.env().emit_event(EarningsWithdrawn { stream_id, creator, amount });
            Ok(amount)
        }

        /// Sets the platform fee. Admin only; at most [`MAX_FEE_BPS`]. Emits [`FeeChanged`].
        #[ink(message)]
        pub fn set_fee_bps(&mut self, fee_bps: u16) -> Result<()> {
            self.only_admin()?;
            if fee_bps > MAX_FEE_BPS {
                return Err(Error::FeeTooHigh { max: MAX_FEE_BPS });
            }
            self.fee_bps = fee_bps;
            self.env().emit_event(FeeChanged { fee_bps });
            Ok(())
        }

        /// Pays all collected fees to `to`. Admin only. Emits [`FeesWithdrawn`].
        #[ink(message)]
        pub fn withdraw_fees(&mut self, to: AccountId) -> Result<Balance> {
            self.only_admin()?;
            let amount = self.fees;
            if amount == 0 {
                return Err(Error::NothingToWithdraw);
            }
            self.fees = 0;
            self.env().transfer(to, amount).map_err(|_| Error::TransferFailed)?;
            self.env().emit_event(FeesWithdrawn { to, amount });
            Ok(amount)
        }

        /// A viewer's unspent escrow, in plancks.
        #[ink(message)]
        pub fn escrow_of(&self, viewer: AccountId) -> Balance {
            self.escrow.get(viewer).unwrap_or(0)
        }

        /// Seconds a viewer's escrow lasts at `rate_per_second` (`u64::MAX` for a zero rate).
        #[ink(message)]
        pub fn runway_of(&self, viewer: AccountId, rate_per_second: Balance) -> u64 {
            match self.escrow_of(viewer).checked_div(rate_per_second) {
                None => u64::MAX, // zero rate
                Some(seconds) => u64::try_from(seconds).unwrap_or(u64::MAX),
            }
        }

        /// A stream's unwithdrawn earnings, in plancks.
        #[ink(message)]
        pub fn earnings_of(&self, stream_id: StreamId) -> Balance {
            self.earnings.get(stream_id).unwrap_or(0)
        }

        /// When `viewer`'s subscription to `stream_id` ends (ms since the Unix epoch), if ever bought.
        #[ink(message)]
        pub fn subscription_expiry(&self, viewer: AccountId, stream_id: StreamId) -> Option<Timestamp> {
            self.subscriptions.get((viewer, stream_id))
        }

        /// Whether `viewer` has a subscription to `stream_id` that has not expired.
        #[ink(message)]
        pub fn has_subscription(&self, viewer: AccountId, stream_id: StreamId) -> bool {
            self.subscriptions
                .get((viewer, stream_id))
                .is_some_and(|expiry| expiry > self.env().block_timestamp())
        }

        /// Collected, unwithdrawn fees, in plancks.
        #[ink(message)]
        pub fn fees(&self) -> Balance {
            self.fees
        }

        /// The platform fee, in basis points.
        #[ink(message)]
        pub fn fee_bps(&self) -> u16 {
            self.fee_bps
        }

        /// `(Σ escrow, Σ earnings, fees)` in plancks; their sum equals the contract's balance.
        #[ink(message)]
        pub fn liabilities(&self) -> (Balance, Balance, Balance) {
            (self.total_escrow, self.total_earnings, self.fees)
        }

        /// The wired tick_stream contract, if any.
        #[ink(message)]
        pub fn tick_stream(&self) -> Option<AccountId> {
            self.tick_stream
        }

        /// Unit tests only (not in the Wasm): wires an account as tick_stream without the code-hash
        /// check, which ink!'s off-chain environment cannot make (`code_hash` is unimplemented there).
        /// The check itself is tested on the local chain (tests/e2e/attacks.test.ts).
        #[cfg(test)]
        pub fn wire_unchecked_for_tests(&mut self, tick_stream: AccountId) {
            self.tick_stream = Some(tick_stream);
        }

        /// The code hash the wired tick_stream contract was checked to run, if wired.
        #[ink(message)]
        pub fn tick_stream_code_hash(&self) -> Option<Hash> {
            self.tick_stream_code_hash
        }

        /// The admin account.
        #[ink(message)]
        pub fn admin(&self) -> AccountId {
            self.admin
        }

        fn only_tick_stream(&self) -> Result<()> {
            if Some(self.env().caller()) != self.tick_stream {
                return Err(Error::NotTickStream);
            }
            Ok(())
        }

        /// Check / Effect of one charge on the viewer's escrow (no interaction: the money stays in
        /// this contract). Earnings are booked by the caller, once per stream.
        fn charge_escrow(&mut self, c: &Charge) -> Result<Settlement> {
            if c.rate_per_second == 0 || c.ticks == 0 {
                return Ok(Settlement { ticks_paid: c.ticks, ..Default::default() });
            }
            if self.has_subscription(c.viewer, c.stream_id) {
                return Ok(Settlement { ticks_paid: c.ticks, subscribed: true, ..Default::default() });
            }
            // Check: pay only for the whole seconds the escrow covers.
            let escrow = self.escrow_of(c.viewer);
            let affordable = escrow
                .checked_div(c.rate_per_second)
                .map_or(u64::MAX, |s| u64::try_from(s).unwrap_or(u64::MAX));
            let ticks_paid = c.ticks.min(affordable);
            let amount = c.rate_per_second.checked_mul(Balance::from(ticks_paid)).ok_or(Error::Overflow)?;
            if amount == 0 {
                return Ok(Settlement::default());
            }
            // Effect.
            self.debit_escrow(c.viewer, amount)?;
            let fee = self.fee_on(amount)?;
            self.env().emit_event(Charged { viewer: c.viewer, stream_id: c.stream_id, ticks: ticks_paid, amount, fee });
            Ok(Settlement { ticks_paid, amount, fee, subscribed: false })
        }

        fn only_admin(&self) -> Result<()> {
            if self.env().caller() != self.admin {
                return Err(Error::NotAdmin);
            }
            Ok(())
        }

        /// Debits escrow and transfers it to the viewer (Check, Effect, Interaction).
        fn pay_out_escrow(&mut self, viewer: AccountId, amount: Balance) -> Result<()> {
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            self.debit_escrow(viewer, amount)?;
            self.env().transfer(viewer, amount).map_err(|_| Error::TransferFailed)?;
            self.env().emit_event(Withdrawn { viewer, amount });
            Ok(())
        }

        /// The one place escrow grows.
        fn credit_escrow(&mut self, viewer: AccountId, amount: Balance) -> Result<()> {
            let new = self.escrow_of(viewer).checked_add(amount).ok_or(Error::Overflow)?;
            self.total_escrow = self.total_escrow.checked_add(amount).ok_or(Error::Overflow)?;
            self.escrow.insert(viewer, &new);
            Ok(())
        }

        /// The one place escrow shrinks; removes the entry at zero.
        fn debit_escrow(&mut self, viewer: AccountId, amount: Balance) -> Result<()> {
            let available = self.escrow_of(viewer);
            let rest = available
                .checked_sub(amount)
                .ok_or(Error::InsufficientEscrow { available, requested: amount })?;
            self.total_escrow = self.total_escrow.checked_sub(amount).ok_or(Error::Overflow)?;
            if rest == 0 {
                self.escrow.remove(viewer);
            } else {
                self.escrow.insert(viewer, &rest);
            }
            Ok(())
        }

        /// `⌊amount × fee_bps / 10 000⌋`, in plancks.
        fn fee_on(&self, amount: Balance) -> Result<Balance> {
            amount
                .checked_mul(Balance::from(self.fee_bps))
                .and_then(|x| x.checked_div(BPS_DENOMINATOR))
                .ok_or(Error::Overflow)
        }

        /// Credits `amount` minus the fee to a stream's earnings and the fee to `fees`. Returns the fee.
        fn credit_earnings(&mut self, stream_id: StreamId, amount: Balance) -> Result<Balance> {
            let fee = self.fee_on(amount)?;
            self.book_earnings(stream_id, amount.checked_sub(fee).ok_or(Error::Overflow)?, fee)?;
            Ok(fee)
        }

        /// The one place earnings and fees grow.
        fn book_earnings(&mut self, stream_id: StreamId, net: Balance, fee: Balance) -> Result<()> {
            if net == 0 && fee == 0 {
                return Ok(());
            }
            let new = self.earnings_of(stream_id).checked_add(net).ok_or(Error::Overflow)?;
            self.total_earnings = self.total_earnings.checked_add(net).ok_or(Error::Overflow)?;
            self.fees = self.fees.checked_add(fee).ok_or(Error::Overflow)?;
            self.earnings.insert(stream_id, &new);
            Ok(())
        }
    }
}

pub use self::payment_handler::{
    Charge, Error, PaymentHandler, PaymentHandlerRef, Settlement, MAX_BATCH, MAX_FEE_BPS,
};

#[cfg(test)]
mod tests;
