//! Unit tests (off-chain environment), given / when / then, and the conservation property test.
//! `buy_subscription` asks the pricing engine for a tier's terms — a cross-contract call the
//! off-chain environment cannot make — so subscriptions are tested end to end on the local chain.

use crate::payment_handler::*;
use ink::env::{test, DefaultEnvironment as E};
use ink::primitives::AccountId;

type Accounts = test::DefaultAccounts<E>;
/// `pay_with_call!` names the environment type `Environment`.
type Environment = E;

fn accounts() -> Accounts {
    test::default_accounts::<E>()
}
fn as_caller(who: AccountId) {
    test::set_caller::<E>(who);
}
fn balance(who: AccountId) -> u128 {
    test::get_account_balance::<E>(who).unwrap_or(0)
}
fn contract() -> AccountId {
    test::callee::<E>()
}

/// Given: a handler (admin alice, fee `fee_bps`) wired to charlie as tick_stream, every account
/// holding 10^12 plancks and the contract holding nothing. The contract gets an address of its own:
/// the off-chain default callee is one of the default accounts, which would blur every balance, and
/// storage outlives a constructor call, so every setup gets a fresh address.
fn setup(fee_bps: u16) -> PaymentHandler {
    thread_local!(static NEXT: core::cell::Cell<u32> = const { core::cell::Cell::new(0) });
    let n = NEXT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let mut address = [0xCC; 32];
    address[..4].copy_from_slice(&n.to_le_bytes());
    test::set_callee::<E>(AccountId::from(address));
    let a = accounts();
    for who in [a.alice, a.bob, a.charlie, a.django, a.eve, a.frank] {
        test::set_account_balance::<E>(who, 1_000_000_000_000);
    }
    test::set_account_balance::<E>(contract(), 0);
    as_caller(a.alice);
    let mut h = PaymentHandler::new(AccountId::from([0xEE; 32]), fee_bps).unwrap();
    h.wire_unchecked_for_tests(a.charlie);
    h
}

fn deposit(h: &mut PaymentHandler, viewer: AccountId, amount: u128) -> Result<u128> {
    as_caller(viewer);
    ink::env::pay_with_call!(h.deposit(), amount)
}

fn settle(h: &mut PaymentHandler, viewer: AccountId, stream: u64, ticks: u64, rate: u128) -> Result<Settlement> {
    as_caller(accounts().charlie);
    h.settle(Charge { viewer, stream_id: stream, creator: accounts().frank, ticks, rate_per_second: rate })
}

fn assert_conserved(h: &PaymentHandler) {
    let (escrow, earnings, fees) = h.liabilities();
    assert_eq!(balance(contract()), escrow + earnings + fees, "contract balance = Σescrow + Σearnings + fees");
}

#[ink::test]
fn constructor_refuses_a_fee_above_the_cap() {
    assert_eq!(
        PaymentHandler::new(AccountId::from([1; 32]), MAX_FEE_BPS + 1).err(),
        Some(Error::FeeTooHigh { max: MAX_FEE_BPS })
    );
}

#[ink::test]
fn deposit_credits_escrow_and_zero_is_refused() {
    let mut h = setup(0);
    let bob = accounts().bob;
    assert_eq!(deposit(&mut h, bob, 500), Ok(500));
    assert_eq!(deposit(&mut h, bob, 250), Ok(750));
    assert_eq!(h.escrow_of(bob), 750);
    assert_eq!(deposit(&mut h, bob, 0), Err(Error::ZeroAmount));
    assert_conserved(&h);
}

#[ink::test]
fn withdraw_returns_unspent_escrow_and_never_more() {
    let mut h = setup(0);
    let bob = accounts().bob;
    deposit(&mut h, bob, 1_000).unwrap();
    let before = balance(bob);
    as_caller(bob);
    assert_eq!(h.withdraw(400), Ok(()));
    assert_eq!(balance(bob), before + 400);
    assert_eq!(h.escrow_of(bob), 600);
    assert_eq!(h.withdraw(601), Err(Error::InsufficientEscrow { available: 600, requested: 601 }));
    assert_eq!(h.escrow_of(bob), 600);
    assert_conserved(&h);
}

#[ink::test]
fn refund_is_for_the_viewer_or_tick_stream_only() {
    let mut h = setup(0);
    let a = accounts();
    deposit(&mut h, a.bob, 1_000).unwrap();
    as_caller(a.eve);
    assert_eq!(h.refund(a.bob), Err(Error::NotViewer));
    as_caller(a.charlie);
    let before = balance(a.bob);
    assert_eq!(h.refund(a.bob), Ok(1_000));
    assert_eq!(balance(a.bob), before + 1_000, "the refund goes to the viewer, not the caller");
    assert_eq!(h.escrow_of(a.bob), 0);
    assert_conserved(&h);
}

#[ink::test]
fn only_tick_stream_can_charge() {
    let mut h = setup(0);
    let a = accounts();
    deposit(&mut h, a.bob, 1_000).unwrap();
    for attacker in [a.bob, a.eve, a.frank, a.alice] {
        as_caller(attacker);
        let charge = Charge { viewer: a.bob, stream_id: 1, creator: attacker, ticks: 10, rate_per_second: 10 };
        assert_eq!(h.settle(charge.clone()), Err(Error::NotTickStream));
        assert_eq!(h.settle_many(vec![charge]), Err(Error::NotTickStream));
    }
    assert_eq!(h.escrow_of(a.bob), 1_000);
    assert_eq!(h.earnings_of(1), 0);
}

#[ink::test]
fn settle_charges_rate_times_ticks_and_splits_the_fee() {
    let mut h = setup(250); // 2.5 %
    let bob = accounts().bob;
    deposit(&mut h, bob, 10_000).unwrap();
    let s = settle(&mut h, bob, 7, 30, 100).unwrap();
    assert_eq!(s, Settlement { ticks_paid: 30, amount: 3_000, fee: 75, subscribed: false });
    assert_eq!(h.escrow_of(bob), 7_000);
    assert_eq!(h.earnings_of(7), 2_925);
    assert_eq!(h.fees(), 75);
    assert_conserved(&h);
}

#[ink::test]
fn settle_never_charges_more_than_the_escrow() {
    let mut h = setup(0);
    let bob = accounts().bob;
    deposit(&mut h, bob, 1_050).unwrap();
    let s = settle(&mut h, bob, 1, 100, 100).unwrap();
    assert_eq!((s.ticks_paid, s.amount), (10, 1_000), "only whole seconds the escrow covers");
    assert_eq!(h.escrow_of(bob), 50);
    let s = settle(&mut h, bob, 1, 5, 100).unwrap();
    assert_eq!((s.ticks_paid, s.amount), (0, 0), "zero runway: nothing more is charged");
    assert_conserved(&h);
}

#[ink::test]
fn withdraw_earnings_pays_the_recorded_creator_only() {
    let mut h = setup(0);
    let a = accounts();
    deposit(&mut h, a.bob, 5_000).unwrap();
    settle(&mut h, a.bob, 3, 10, 100).unwrap(); // creator recorded: frank
    as_caller(a.eve);
    assert_eq!(h.withdraw_earnings(3), Err(Error::NotCreator { stream_id: 3 }));
    as_caller(a.frank);
    let before = balance(a.frank);
    assert_eq!(h.withdraw_earnings(3), Ok(1_000));
    assert_eq!(balance(a.frank), before + 1_000, "withdraw_earnings really pays the creator");
    assert_eq!(h.withdraw_earnings(3), Err(Error::NothingToWithdraw));
    assert_conserved(&h);
}

#[ink::test]
fn fee_is_admin_only_and_capped() {
    let mut h = setup(0);
    let a = accounts();
    as_caller(a.bob);
    assert_eq!(h.set_fee_bps(10), Err(Error::NotAdmin));
    assert_eq!(h.withdraw_fees(a.bob), Err(Error::NotAdmin));
    as_caller(a.alice);
    assert_eq!(h.set_fee_bps(MAX_FEE_BPS + 1), Err(Error::FeeTooHigh { max: MAX_FEE_BPS }));
    assert_eq!(h.set_fee_bps(MAX_FEE_BPS), Ok(()));
    assert_eq!(h.fee_bps(), MAX_FEE_BPS);
}

#[ink::test]
fn tick_stream_is_wired_once_by_the_admin() {
    let mut h = setup(0);
    let a = accounts();
    as_caller(a.bob);
    assert_eq!(h.set_tick_stream(a.bob, [0; 32].into()), Err(Error::NotAdmin));
    as_caller(a.alice);
    assert_eq!(h.set_tick_stream(a.eve, [0; 32].into()), Err(Error::TickStreamAlreadySet));
    assert_eq!(h.tick_stream(), Some(a.charlie));
}

#[ink::test]
fn runway_is_escrow_over_rate() {
    let mut h = setup(0);
    let bob = accounts().bob;
    deposit(&mut h, bob, 1_000).unwrap();
    assert_eq!(h.runway_of(bob, 30), 33);
    assert_eq!(h.runway_of(bob, 0), u64::MAX);
}

/// A small deterministic generator (xorshift64*) so the property test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Property: after every operation of a random sequence, the contract's balance equals
/// Σ escrow + Σ earnings + fees, the running totals equal the per-account sums, and the money held by
/// all accounts together never changes.
#[ink::test]
fn money_is_conserved_over_random_operation_sequences() {
    for seed in 1..=120u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut h = setup(rng.below(u64::from(MAX_FEE_BPS) + 1) as u16);
        let a = accounts();
        let viewers = [a.bob, a.django, a.eve];
        let everyone = [a.alice, a.bob, a.charlie, a.django, a.eve, a.frank, contract()];
        let total = |_: ()| everyone.iter().map(|w| balance(*w)).sum::<u128>();
        let money = total(());
        for _ in 0..150 {
            let viewer = viewers[rng.below(3) as usize];
            let stream = 1 + rng.below(3);
            match rng.below(8) {
                0 | 1 => {
                    let _ = deposit(&mut h, viewer, u128::from(rng.below(5_000)));
                }
                2 => {
                    as_caller(viewer);
                    let _ = h.withdraw(u128::from(rng.below(3_000)));
                }
                3 | 4 => {
                    let _ = settle(&mut h, viewer, stream, rng.below(120), u128::from(rng.below(60)));
                }
                5 => {
                    as_caller(a.frank);
                    let _ = h.withdraw_earnings(stream);
                }
                6 => {
                    as_caller(a.alice);
                    let _ = h.set_fee_bps(rng.below(1_200) as u16);
                    if rng.below(2) == 0 {
                        let _ = h.withdraw_fees(a.alice);
                    }
                }
                _ => {
                    as_caller(viewer);
                    let _ = h.refund(viewer);
                }
            }
            assert_conserved(&h);
            let (escrow, earnings, _) = h.liabilities();
            assert_eq!(viewers.iter().map(|v| h.escrow_of(*v)).sum::<u128>(), escrow, "seed {seed}");
            assert_eq!((1..=3).map(|s| h.earnings_of(s)).sum::<u128>(), earnings, "seed {seed}");
            assert_eq!(total(()), money, "no planck created or destroyed (seed {seed})");
        }
    }
}
