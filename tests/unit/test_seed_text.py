"""The demo catalog's descriptions read as English."""

from agora.catalog.seed import KINDS, sentence_start


def test_articles_follow_the_sound_and_the_number() -> None:
    assert sentence_start("ultralight herb planter") == "An ultralight herb planter"
    assert sentence_start("compact moka pot") == "A compact moka pot"
    assert sentence_start("heritage adjustable dumbbells") == "Heritage adjustable dumbbells"
    assert sentence_start("everyday mixing bowl set") == "An everyday mixing bowl set"
    assert sentence_start("classic compost bin") == "A classic compost bin"


def test_every_demo_noun_gets_an_article_or_none() -> None:
    for kind in KINDS:
        for noun in kind.nouns:
            start = sentence_start(f"modern {noun}")
            assert start.startswith(("A modern", "Modern")), start
