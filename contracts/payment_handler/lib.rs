//! # Payment handler
//!
//! ## Overview
//! Holds creators' earnings. Viewers' money waits in their tabs (tick_stream); the only way it
//! becomes a creator's earnings is [`PaymentHandler::book_tab_earnings`], callable only by the wired
//! tick_stream contract after it has checked session-key-signed vouchers, with the plancks sent along
//! — the seed's `process_payment`, now authorized. A subscription bought for a stream's tier is paid
//! here and grants watching without per-second charges until it expires. Creators pull their
//! earnings per stream (`withdraw_earnings`, which really transfers to the creator). An optional
//! platform fee in basis points, capped at [`MAX_FEE_BPS`], is set by the admin. A viewer may tip a
//! stream's creator with a short message (`tip`); the fee applies as for a subscription.
//!
//! ## Invariants (checked by the property test in tests.rs and after every e2e operation)
//! - Conservation: `balance(self) = Σ_s earnings[s] + fees + surplus`, where the surplus is what plain
//!   transfers sent (owed to nobody; the admin sweeps it into the fees). `total_earnings` is the sum,
//!   kept in step by the one function that moves money in: `book_earnings`.
//! - Per stream, fees booked from tabs `= ⌊Σ amounts × fee_bps / 10 000⌋` over its history (the
//!   remainder carries); a subscription's or tip's fee is `⌊value × fee_bps / 10 000⌋`; `fee_bps ≤ MAX_FEE_BPS`.
//!
//! Every transfer out follows Check / Effect / Interaction; a message returning `Err` reverts all of
//! its state changes (ink! semantics), so a failed transfer changes nothing.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod payment_handler {
    use ink::prelude::string::String;
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;
    use pricing_engine::PricingEngineRef;
    use stream_registry::StreamId;

    /// Highest platform fee: 1 000 basis points = 10 %.
    pub const MAX_FEE_BPS: u16 = 1_000;
    /// Longest tip message, in bytes of UTF-8 (a chat line).
    pub const MAX_TIP_MESSAGE_BYTES: u32 = 200;
    const BPS_DENOMINATOR: Balance = 10_000;

    /// Earnings from tabs for one stream, as tick_stream books them once per batch.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct Booking {
        /// The stream.
        pub stream_id: StreamId,
        /// Its creator, who may withdraw the earnings.
        pub creator: AccountId,
        /// Plancks charged from tabs for it (fee included), sent with the call.
        pub amount: Balance,
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
        /// Of `price`, plancks kept as the platform fee.
        pub fee: Balance,
        /// New expiry, in milliseconds since the Unix epoch.
        pub expires_at_ms: Timestamp,
    }

    /// Tab earnings were booked for a stream.
    #[ink(event)]
    pub struct EarningsBooked {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// Plancks charged from tabs (fee included).
        pub amount: Balance,
        /// Of `amount`, plancks kept as the platform fee.
        pub fee: Balance,
    }

    /// A viewer tipped a stream's creator: `amount` less `fee` went to the stream's earnings.
    #[ink(event)]
    pub struct Tipped {
        /// Who tipped.
        #[ink(topic)]
        pub from: AccountId,
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// Its creator, who may withdraw it with the stream's earnings.
        pub creator: AccountId,
        /// Plancks sent.
        pub amount: Balance,
        /// Of `amount`, plancks kept as the platform fee.
        pub fee: Balance,
        /// The tipper's message (UTF-8, at most [`MAX_TIP_MESSAGE_BYTES`] bytes; may be empty).
        pub message: String,
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

    /// Plancks that reached the contract by plain transfer (owed to nobody) were moved into the fees.
    #[ink(event)]
    pub struct SurplusSwept {
        /// Plancks moved.
        pub amount: Balance,
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
        /// Only the admin may do this.
        NotAdmin,
        /// Only the tick_stream contract may book tab earnings.
        NotTickStream,
        /// The tick_stream contract is already wired.
        TickStreamAlreadySet,
        /// The address to wire is not a contract running the named tick_stream code (`found`: its code
        /// hash, none for an ordinary account).
        NotTickStreamCode { expected: Hash, found: Option<Hash> },
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
        /// An amount does not fit in a Balance.
        Overflow,
        /// A tip's message is longer than [`MAX_TIP_MESSAGE_BYTES`] bytes of UTF-8.
        TipMessageTooLong { max: u32 },
        /// The stream has no price plan, so no creator to pay (never registered, or never priced).
        NoPricePlan { stream_id: StreamId },
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
        /// The only contract allowed to book tab earnings; wired once after deployment.
        tick_stream: Option<AccountId>,
        /// The code hash the wired tick_stream runs (checked when wiring; anyone can compare it with
        /// the published one).
        tick_stream_code_hash: Option<Hash>,
        /// Platform fee in basis points.
        fee_bps: u16,
        /// Unwithdrawn earnings per stream, in plancks.
        earnings: Mapping<StreamId, Balance>,
        /// Who may withdraw a stream's earnings (learned from tick_stream or the pricing engine).
        stream_creator: Mapping<StreamId, AccountId>,
        /// Subscription expiry per (viewer, stream), in milliseconds since the Unix epoch.
        subscriptions: Mapping<(AccountId, StreamId), Timestamp>,
        /// Collected, unwithdrawn fees, in plancks.
        fees: Balance,
        /// Per stream, the part of a planck of fee not yet taken, in 1/10 000 plancks: tab earnings
        /// are charged `amount · fee_bps` of these and pay the whole plancks, so settling in small
        /// pieces pays the same fee as settling at once (no floor per charge).
        fee_dust: Mapping<StreamId, Balance>,
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
                earnings: Mapping::default(),
                stream_creator: Mapping::default(),
                subscriptions: Mapping::default(),
                fees: 0,
                fee_dust: Mapping::default(),
                total_earnings: 0,
            })
        }

        /// Wires the tick_stream contract, once. Admin only. `code_hash` names the code it must run
        /// (the published tick_stream hash): an ordinary account, or a contract running other code,
        /// would be able to book earnings it was never sent, so it is refused.
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

        /// Books tab earnings sent by tick_stream: each booking's amount, less the platform fee, goes to
        /// its stream's earnings. The fee carries its remainder per stream (`fee_dust`), so it is
        /// `⌊Σ amounts · fee_bps / 10 000⌋` over a stream's whole history, however small the pieces.
        ///
        /// Requirements: the caller is the wired tick_stream; the value sent is the sum of the amounts.
        /// Emits [`EarningsBooked`] per booking.
        #[ink(message, payable)]
        pub fn book_tab_earnings(&mut self, bookings: Vec<Booking>) -> Result<()> {
            self.only_tick_stream()?;
            let received = self.env().transferred_value();
            let mut expected: Balance = 0;
            for b in &bookings {
                expected = expected.checked_add(b.amount).ok_or(Error::Overflow)?;
            }
            if received != expected {
                return Err(Error::WrongPayment { expected, received });
            }
            for b in &bookings {
                let owed = b
                    .amount
                    .checked_mul(Balance::from(self.fee_bps))
                    .and_then(|x| x.checked_add(self.fee_dust.get(b.stream_id).unwrap_or(0)))
                    .ok_or(Error::Overflow)?;
                let fee = owed.checked_div(BPS_DENOMINATOR).ok_or(Error::Overflow)?;
                let dust = owed.checked_rem(BPS_DENOMINATOR).ok_or(Error::Overflow)?;
                if dust == 0 {
                    self.fee_dust.remove(b.stream_id);
                } else {
                    self.fee_dust.insert(b.stream_id, &dust);
                }
                self.stream_creator.insert(b.stream_id, &b.creator);
                self.book_earnings(b.stream_id, b.amount.checked_sub(fee).ok_or(Error::Overflow)?, fee)?;
                self.env().emit_event(EarningsBooked { stream_id: b.stream_id, amount: b.amount, fee });
            }
            Ok(())
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
            let fee = self.credit_earnings(stream_id, received)?;
            self.subscriptions.insert((viewer, stream_id), &expires_at_ms);
            self.env().emit_event(SubscriptionPurchased { viewer, stream_id, tier, price: received, fee, expires_at_ms });
            Ok(expires_at_ms)
        }

        /// Tips the creator of `stream_id` the value sent, with a short message: the value less the
        /// platform fee (`⌊value × fee_bps / 10 000⌋`, as for a subscription) goes to the stream's
        /// earnings, which its creator withdraws. The creator is the one in the stream's price plan
        /// (remembered after the first payment). Returns the fee. Emits [`Tipped`].
        ///
        /// Requirements: a value above zero; a message of at most [`MAX_TIP_MESSAGE_BYTES`] bytes; a
        /// stream with a price plan.
        #[ink(message, payable)]
        pub fn tip(&mut self, stream_id: StreamId, message: String) -> Result<Balance> {
            let amount = self.env().transferred_value();
            if amount == 0 {
                return Err(Error::ZeroAmount);
            }
            if message.len() > MAX_TIP_MESSAGE_BYTES as usize {
                return Err(Error::TipMessageTooLong { max: MAX_TIP_MESSAGE_BYTES });
            }
            let creator = match self.stream_creator.get(stream_id) {
                Some(creator) => creator,
                None => {
                    let pricing: PricingEngineRef = ink::env::call::FromAccountId::from_account_id(self.pricing);
                    let creator = pricing.price_plan(stream_id).ok_or(Error::NoPricePlan { stream_id })?.creator;
                    self.stream_creator.insert(stream_id, &creator);
                    creator
                }
            };
            let fee = self.credit_earnings(stream_id, amount)?;
            let from = self.env().caller();
            self.env().emit_event(Tipped { from, stream_id, creator, amount, fee, message });
            Ok(fee)
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
            // Effect, then Interaction. The entry stays (at zero): removing it would refund its storage
            // deposit to the creator, and the next settlement would charge a new one to whoever
            // submits it (a relay), a steady drain from relay to creator.
            self.earnings.insert(stream_id, &0);
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

        /// Moves the surplus — what the contract holds beyond everything it owes (`Σ earnings + fees`), which only a plain transfer to its address can create — into the fees, so that it is
        /// accounted for and can be withdrawn. Admin only. Returns the plancks moved. Emits
        /// [`SurplusSwept`].
        ///
        /// Requirements: there is a surplus.
        #[ink(message)]
        pub fn sweep_surplus(&mut self) -> Result<Balance> {
            self.only_admin()?;
            let surplus = self.surplus();
            if surplus == 0 {
                return Err(Error::NothingToWithdraw);
            }
            self.fees = self.fees.checked_add(surplus).ok_or(Error::Overflow)?;
            self.env().emit_event(SurplusSwept { amount: surplus });
            Ok(surplus)
        }

        /// What the contract holds beyond what it owes, in plancks (plain transfers to its address).
        #[ink(message)]
        pub fn surplus(&self) -> Balance {
            let owed = self.total_earnings.saturating_add(self.fees);
            self.env().balance().saturating_sub(owed)
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

        /// `(Σ earnings, fees)` in plancks; with the surplus, their sum equals the contract's balance.
        #[ink(message)]
        pub fn liabilities(&self) -> (Balance, Balance) {
            (self.total_earnings, self.fees)
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

        fn only_admin(&self) -> Result<()> {
            if self.env().caller() != self.admin {
                return Err(Error::NotAdmin);
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

pub use self::payment_handler::{Booking, Error, PaymentHandler, PaymentHandlerRef, MAX_FEE_BPS, MAX_TIP_MESSAGE_BYTES};

#[cfg(test)]
mod tests;
