"""What people read: names for ids, money, and how far a deadline is."""

from datetime import UTC, datetime, timedelta

from domain.labels import Names, age, category_name, money, relative

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_money_as_people_write_it() -> None:
    assert money(1240.0, "GBP") == "£1,240"
    assert money(285360, "gbp") == "£285,360"
    assert money(12.5, "GBP") == "£12.50"
    assert money(3, "hours") == "3 hours"
    assert money(7, None) == "7"
    assert money(None, "GBP") == ""


def test_names_for_ids() -> None:
    names = Names(agencies={"cab": "Citizens Advice"}, wards={"pier": "Pier"})
    assert (names.agency("cab"), names.agency("gone")) == ("Citizens Advice", "gone")
    assert (names.ward("pier"), names.ward("golf-green")) == ("Pier", "golf green")
    assert category_name("benefits_debt") == "Benefits and debt"
    assert category_name("something_new") == "Something new"


def test_deadlines_in_words() -> None:
    assert relative(NOW + timedelta(hours=3, minutes=5), NOW) == "in 3 h"
    assert relative(NOW - timedelta(days=2, hours=1), NOW) == "2 days late"
    assert relative(NOW - timedelta(minutes=20), NOW) == "20 min late"
    assert relative(NOW + timedelta(days=3), NOW) == "in 3 days"
    assert relative(NOW, NOW) == "now"
    assert age(NOW - timedelta(days=4), NOW) == "4 days"
