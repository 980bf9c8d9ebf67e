//! # Pricing engine
//!
//! ## Overview
//! Each stream's price plan, set by the stream's creator (as recorded by the stream registry):
//! a rate per second, an optional premium rate, up to [`MAX_TIERS`] subscription tiers (a price per
//! period), and an optional dynamic rule that moves the rate with the number of concurrent viewers
//! between a floor and a ceiling. Quotes are pure reads. The seed's PricingEngine pallet.
//!
//! A viewer's rate is not read from here on every second: tick_stream asks [`PricingEngine::rate_for`]
//! once, at join, and locks it in the session, so a later price change never applies to seconds
//! already authorized.
//!
//! ## Invariants
//! - A plan exists for stream `s` only if it was set by `registry.creator_of(s)`.
//! - `plan.tiers.len() <= MAX_TIERS`; every tier has `price > 0` and `period_ms > 0`.
//! - With a dynamic rule, `floor <= rate_for(..) <= ceiling`.
//! - `premium_rate_per_second >= rate_per_second` when set.
//!
//! ## Errors
//! Every refusal is a named [`Error`] and changes nothing.
#![cfg_attr(not(feature = "std"), no_std, no_main)]

#[ink::contract]
pub mod pricing_engine {
    use ink::prelude::vec::Vec;
    use ink::storage::Mapping;
    use stream_registry::{StreamId, StreamRegistryRef};

    /// Most subscription tiers a plan may have (Twitch has three).
    pub const MAX_TIERS: u32 = 3;

    /// A subscription tier: `price` plancks buy `period_ms` milliseconds of access.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct Tier {
        /// Price of one period, in plancks.
        pub price: Balance,
        /// Length of one period, in milliseconds.
        pub period_ms: u64,
    }

    /// Moves the per-second rate with concurrent viewers:
    /// `rate = clamp(base + step_per_viewer × viewers, floor, ceiling)`.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct DynamicRule {
        /// Lowest rate, in plancks per second.
        pub floor: Balance,
        /// Highest rate, in plancks per second.
        pub ceiling: Balance,
        /// Added to the base rate per concurrent viewer, in plancks per second.
        pub step_per_viewer: Balance,
    }

    /// A price plan as the creator gives it.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct PlanInput {
        /// Base rate, in plancks per second watched.
        pub rate_per_second: Balance,
        /// Rate for premium viewers, in plancks per second; at least the base rate.
        pub premium_rate_per_second: Option<Balance>,
        /// Subscription tiers, at most [`MAX_TIERS`].
        pub tiers: Vec<Tier>,
        /// Optional rule moving the rate with concurrent viewers.
        pub dynamic: Option<DynamicRule>,
    }

    /// A stored price plan.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    #[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
    pub struct PricePlan {
        /// The stream's creator, who set this plan.
        pub creator: AccountId,
        /// Base rate, in plancks per second.
        pub rate_per_second: Balance,
        /// Premium rate, in plancks per second.
        pub premium_rate_per_second: Option<Balance>,
        /// Subscription tiers (bounded by [`MAX_TIERS`]).
        pub tiers: Vec<Tier>,
        /// Optional dynamic rule.
        pub dynamic: Option<DynamicRule>,
        /// Block timestamp of the last change, in milliseconds.
        pub updated_at_ms: Timestamp,
    }

    /// What a subscription to one tier costs and whom it pays.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    pub struct SubscriptionTerms {
        /// Who is paid.
        pub creator: AccountId,
        /// Price of one period, in plancks.
        pub price: Balance,
        /// Length of one period, in milliseconds.
        pub period_ms: u64,
    }

    /// A stream's price plan was set or changed.
    #[ink(event)]
    pub struct PricePlanSet {
        /// The stream.
        #[ink(topic)]
        pub stream_id: StreamId,
        /// Its creator.
        #[ink(topic)]
        pub creator: AccountId,
        /// New base rate, in plancks per second.
        pub rate_per_second: Balance,
    }

    /// Why a message was refused. Nothing changes when one is returned.
    #[derive(Debug, PartialEq, Eq, Clone)]
    #[ink::scale_derive(Encode, Decode, TypeInfo)]
    // The SCALE derive casts the variant index with `as u8`; clippy 1.96 flags that inside the
    // expansion. Our own code keeps cargo-contract's -D clippy::cast_possible_truncation.
    #[allow(clippy::cast_possible_truncation)]
    pub enum Error {
        /// The registry has no stream with this id.
        StreamNotFound { stream_id: StreamId },
        /// The caller is not the stream's creator.
        NotCreator { stream_id: StreamId },
        /// The stream has no price plan yet.
        NoPricePlan { stream_id: StreamId },
        /// The premium rate is below the base rate.
        PremiumBelowBase,
        /// More tiers than [`MAX_TIERS`].
        TooManyTiers { max: u32 },
        /// A tier has a zero price or a zero period.
        InvalidTier { index: u32 },
        /// No tier with this index.
        TierNotFound { stream_id: StreamId, index: u32 },
        /// The dynamic rule's floor is above its ceiling.
        InvalidDynamicRule,
        /// A computed amount does not fit in a Balance.
        Overflow,
    }

    /// Result type of this contract's messages.
    pub type Result<T> = core::result::Result<T, Error>;

    /// The engine's storage.
    #[ink(storage)]
    pub struct PricingEngine {
        /// The stream registry this engine prices (asked who created a stream).
        registry: AccountId,
        /// Price plans by stream.
        plans: Mapping<StreamId, PricePlan>,
    }

    impl PricingEngine {
        /// An engine pricing the streams of `registry`.
        #[ink(constructor)]
        pub fn new(registry: AccountId) -> Self {
            Self { registry, plans: Mapping::default() }
        }

        /// Sets or replaces a stream's price plan. Sessions already running keep their locked rate.
        ///
        /// Requirements: the caller created the stream in the registry; the plan passes [`validate`].
        /// Emits [`PricePlanSet`].
        #[ink(message)]
        pub fn set_price_plan(&mut self, stream_id: StreamId, plan: PlanInput) -> Result<()> {
            validate(&plan)?;
            let caller = self.env().caller();
            let creator = self.creator_of(stream_id)?;
            if creator != caller {
                return Err(Error::NotCreator { stream_id });
            }
            let rate_per_second = plan.rate_per_second;
            self.plans.insert(
                stream_id,
                &PricePlan {
                    creator,
                    rate_per_second,
                    premium_rate_per_second: plan.premium_rate_per_second,
                    tiers: plan.tiers,
                    dynamic: plan.dynamic,
                    updated_at_ms: self.env().block_timestamp(),
                },
            );
            self.env().emit_event(PricePlanSet { stream_id, creator, rate_per_second });
            Ok(())
        }

        /// The stream's price plan, if set.
        #[ink(message)]
        pub fn price_plan(&self, stream_id: StreamId) -> Option<PricePlan> {
            self.plans.get(stream_id)
        }

        /// The per-second rate, in plancks, a viewer joining now would lock.
        #[ink(message)]
        pub fn rate_for(&self, stream_id: StreamId, premium: bool, concurrent_viewers: u32) -> Result<Balance> {
            let plan = self.plans.get(stream_id).ok_or(Error::NoPricePlan { stream_id })?;
            current_rate(&plan, premium, concurrent_viewers)
        }

        /// What `seconds` of watching cost at the rate a viewer joining now would lock, in plancks.
        #[ink(message)]
        pub fn quote(&self, stream_id: StreamId, premium: bool, concurrent_viewers: u32, seconds: u64) -> Result<Balance> {
            let rate = self.rate_for(stream_id, premium, concurrent_viewers)?;
            rate.checked_mul(Balance::from(seconds)).ok_or(Error::Overflow)
        }

        /// Price, period and payee of a subscription tier.
        #[ink(message)]
        pub fn subscription_terms(&self, stream_id: StreamId, tier: u32) -> Result<SubscriptionTerms> {
            let plan = self.plans.get(stream_id).ok_or(Error::NoPricePlan { stream_id })?;
            let t = plan
                .tiers
                .get(tier as usize)
                .ok_or(Error::TierNotFound { stream_id, index: tier })?;
            Ok(SubscriptionTerms { creator: plan.creator, price: t.price, period_ms: t.period_ms })
        }

        /// The registry this engine prices.
        #[ink(message)]
        pub fn registry(&self) -> AccountId {
            self.registry
        }

        fn creator_of(&self, stream_id: StreamId) -> Result<AccountId> {
            let registry: StreamRegistryRef = ink::env::call::FromAccountId::from_account_id(self.registry);
            registry.creator_of(stream_id).ok_or(Error::StreamNotFound { stream_id })
        }
    }

    /// The rate of `plan` for a viewer joining now, in plancks per second.
    pub fn current_rate(plan: &PricePlan, premium: bool, concurrent_viewers: u32) -> Result<Balance> {
        let base = match (premium, plan.premium_rate_per_second) {
            (true, Some(p)) => p,
            _ => plan.rate_per_second,
        };
        let Some(rule) = &plan.dynamic else { return Ok(base) };
        let extra = rule
            .step_per_viewer
            .checked_mul(Balance::from(concurrent_viewers))
            .ok_or(Error::Overflow)?;
        let raw = base.checked_add(extra).ok_or(Error::Overflow)?;
        Ok(raw.clamp(rule.floor, rule.ceiling))
    }

    /// Checks a plan's tiers, premium rate and dynamic rule.
    pub fn validate(plan: &PlanInput) -> Result<()> {
        if matches!(plan.premium_rate_per_second, Some(p) if p < plan.rate_per_second) {
            return Err(Error::PremiumBelowBase);
        }
        if plan.tiers.len() > MAX_TIERS as usize {
            return Err(Error::TooManyTiers { max: MAX_TIERS });
        }
        if let Some(index) = plan.tiers.iter().position(|t| t.price == 0 || t.period_ms == 0) {
            return Err(Error::InvalidTier { index: u32::try_from(index).unwrap_or(u32::MAX) });
        }
        if matches!(&plan.dynamic, Some(r) if r.floor > r.ceiling) {
            return Err(Error::InvalidDynamicRule);
        }
        Ok(())
    }
}

pub use self::pricing_engine::{
    current_rate, validate, DynamicRule, Error, PlanInput, PricePlan, PricingEngine, PricingEngineRef,
    SubscriptionTerms, Tier, MAX_TIERS,
};

#[cfg(test)]
mod tests;
