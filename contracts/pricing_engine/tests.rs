//! Unit tests of the pricing rules. `set_price_plan` asks the registry who created a stream — a
//! cross-contract call the off-chain test environment cannot make — so its access control is tested
//! end to end on the local chain (tests/e2e/pricing.test.ts).

use crate::pricing_engine::*;
use ink::primitives::AccountId;

fn plan(rate: u128) -> PricePlan {
    PricePlan {
        creator: AccountId::from([1; 32]),
        rate_per_second: rate,
        premium_rate_per_second: None,
        tiers: Vec::new(),
        dynamic: None,
        updated_at_ms: 0,
    }
}

fn input(rate: u128) -> PlanInput {
    PlanInput { rate_per_second: rate, premium_rate_per_second: None, tiers: Vec::new(), dynamic: None }
}

#[ink::test]
fn flat_rate_ignores_the_audience() {
    assert_eq!(current_rate(&plan(10), false, 0), Ok(10));
    assert_eq!(current_rate(&plan(10), false, 5_000), Ok(10));
}

#[ink::test]
fn premium_viewers_pay_the_premium_rate_when_there_is_one() {
    let mut p = plan(10);
    assert_eq!(current_rate(&p, true, 0), Ok(10), "no premium rate: base applies");
    p.premium_rate_per_second = Some(25);
    assert_eq!(current_rate(&p, true, 0), Ok(25));
    assert_eq!(current_rate(&p, false, 0), Ok(10));
}

#[ink::test]
fn dynamic_rate_moves_with_viewers_between_floor_and_ceiling() {
    let mut p = plan(10);
    p.dynamic = Some(DynamicRule { floor: 12, ceiling: 30, step_per_viewer: 2 });
    assert_eq!(current_rate(&p, false, 0), Ok(12), "below the floor is lifted to it");
    assert_eq!(current_rate(&p, false, 5), Ok(20));
    assert_eq!(current_rate(&p, false, 1_000), Ok(30), "capped at the ceiling");
}

#[ink::test]
fn dynamic_rate_overflow_is_an_error_not_a_panic() {
    let mut p = plan(u128::MAX);
    p.dynamic = Some(DynamicRule { floor: 0, ceiling: u128::MAX, step_per_viewer: u128::MAX });
    assert_eq!(current_rate(&p, false, 2), Err(Error::Overflow));
}

#[ink::test]
fn validate_accepts_a_full_plan() {
    let mut p = input(10);
    p.premium_rate_per_second = Some(20);
    p.tiers = vec![Tier { price: 1_000, period_ms: 30 * 24 * 3_600_000 }; MAX_TIERS as usize];
    p.dynamic = Some(DynamicRule { floor: 5, ceiling: 50, step_per_viewer: 1 });
    assert_eq!(validate(&p), Ok(()));
}

#[ink::test]
fn validate_rejects_premium_below_base() {
    let mut p = input(10);
    p.premium_rate_per_second = Some(9);
    assert_eq!(validate(&p), Err(Error::PremiumBelowBase));
}

#[ink::test]
fn validate_rejects_too_many_or_empty_tiers() {
    let mut p = input(10);
    p.tiers = vec![Tier { price: 1, period_ms: 1 }; MAX_TIERS as usize + 1];
    assert_eq!(validate(&p), Err(Error::TooManyTiers { max: MAX_TIERS }));
    p.tiers = vec![Tier { price: 1, period_ms: 1 }, Tier { price: 0, period_ms: 1 }];
    assert_eq!(validate(&p), Err(Error::InvalidTier { index: 1 }));
    p.tiers = vec![Tier { price: 1, period_ms: 0 }];
    assert_eq!(validate(&p), Err(Error::InvalidTier { index: 0 }));
}

#[ink::test]
fn validate_rejects_floor_above_ceiling() {
    let mut p = input(10);
    p.dynamic = Some(DynamicRule { floor: 10, ceiling: 9, step_per_viewer: 0 });
    assert_eq!(validate(&p), Err(Error::InvalidDynamicRule));
}

#[ink::test]
fn quote_and_terms_need_a_plan() {
    let engine = PricingEngine::new(AccountId::from([9; 32]));
    assert_eq!(engine.quote(3, false, 0, 60), Err(Error::NoPricePlan { stream_id: 3 }));
    assert_eq!(engine.subscription_terms(3, 0), Err(Error::NoPricePlan { stream_id: 3 }));
    assert_eq!(engine.price_plan(3), None);
}
