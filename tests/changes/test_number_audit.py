"""The Redis feed's audit of change numbers: a number issued by the database and not heard
through Redis within GRACE is a gap; one heard, before or after it is seen issued, is not."""

from authgate.redisfeed import GRACE, MAX_UNHEARD, NumberAudit

T0 = 1000.0
PAST_GRACE = GRACE * 1.01  # clear of rounding


def started(last: int = 10) -> NumberAudit:
    audit = NumberAudit()
    audit.restart(last, T0)
    assert not audit.overdue(last, T0)  # nothing new, and the second gap not due yet
    assert audit.overdue(last, T0 + PAST_GRACE)  # the gap GRACE after (re)subscribing, once
    assert not audit.overdue(last, T0 + GRACE + 0.1)
    return audit


def test_numbers_heard_before_or_after_they_are_seen_issued_are_no_gap() -> None:
    audit = started()
    now = T0 + 1
    audit.heard(11)  # heard before the sequence was read past it
    assert not audit.overdue(12, now)  # 12 issued, not heard yet: still within GRACE
    audit.heard(12)
    assert not audit.overdue(12, now + PAST_GRACE)
    assert not audit.overdue(12, now + 10 * GRACE)


def test_a_number_not_heard_within_grace_is_a_gap_once() -> None:
    audit = started()
    now = T0 + 1
    assert not audit.overdue(13, now)  # 11, 12 and 13 issued
    audit.heard(11)
    audit.heard(13)
    assert not audit.overdue(13, now + GRACE * 0.9)
    assert audit.overdue(13, now + PAST_GRACE)  # 12 never came: committed unheard, or rolled back
    assert not audit.overdue(13, now + GRACE * 2)  # the gap covers it; it is not counted again
    audit.heard(12)  # late after all: harmless
    assert not audit.overdue(13, now + GRACE * 3)


def test_numbers_seen_later_get_their_own_grace() -> None:
    audit = started()
    now = T0 + 1
    assert not audit.overdue(11, now)
    audit.heard(11)
    assert not audit.overdue(12, now + GRACE * 0.9)  # 12 first seen now
    assert not audit.overdue(12, now + GRACE * 1.5)  # 0.6 GRACE old
    assert audit.overdue(12, now + GRACE * 1.9)


def test_a_sequence_that_went_back_or_leapt_is_a_gap() -> None:
    audit = started(last=500)
    assert audit.overdue(3, T0 + 1)  # reset (a restored database): start over from there
    assert not audit.overdue(3, T0 + 2)
    assert audit.overdue(3 + MAX_UNHEARD + 1, T0 + 3)  # too many to track
    assert not audit.overdue(3 + MAX_UNHEARD + 1, T0 + 4)


def test_restart_forgets_what_the_old_subscription_heard() -> None:
    audit = started()
    audit.heard(11)
    audit.restart(20, T0 + 5)  # numbers up to 20 are covered by the resubscription's gaps
    assert not audit.overdue(21, T0 + 5)
    audit.heard(21)
    assert audit.overdue(21, T0 + 5 + PAST_GRACE)  # only the one more gap after resubscribing
    assert not audit.overdue(21, T0 + 5 + GRACE * 3)
