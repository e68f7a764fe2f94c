"""Country as people write it → ISO 3166 alpha-2 (customer import)."""

from __future__ import annotations

import pytest

from qbo import _countries
from qbo.customer import normalise_country


@pytest.mark.parametrize(
    ("value", "alpha2", "how"),
    [
        ("GB", "GB", "alpha-2"),
        ("gb", "GB", "alpha-2"),
        (" de ", "DE", "alpha-2"),
        ("GBR", "GB", "alpha-3"),
        ("usa", "US", "alpha-3"),
        ("U.S.A.", "US", "alpha-3"),
        ("United Kingdom", "GB", "name"),
        ("united states", "US", "name"),
        ("United States of America", "US", "name"),
        ("UK", "GB", "name"),
        ("Great Britain", "GB", "name"),
        ("England", "GB", "name"),
        ("Deutschland", "DE", "name"),
        ("Germany", "DE", "name"),
        ("The Netherlands", "NL", "name"),
        ("Holland", "NL", "name"),
        ("C\u00f4te d\u2019Ivoire", "CI", "name"),  # curly apostrophe
        ("Ivory Coast", "CI", "name"),
        ("Korea, Republic of", "KR", "name"),
        ("South Korea", "KR", "name"),
        ("Türkiye", "TR", "name"),
        ("Turkey", "TR", "name"),
        ("Czech Republic", "CZ", "name"),
        ("Bosnia & Herzegovina", "BA", "name"),
        ("St. Lucia", "LC", "name"),
        ("España", "ES", "name"),
        ("Schweiz", "CH", "name"),
        ("Viet Nam", "VN", "name"),
        ("Vietnam", "VN", "name"),
        ("UAE", "AE", "name"),
    ],
)
def test_known_countries(value: str, alpha2: str, how: str) -> None:
    code, note = normalise_country(value)
    assert code == alpha2
    assert note.startswith(how)


@pytest.mark.parametrize(
    ("value", "note"),
    [
        (None, "country is empty"),
        ("", "country is empty"),
        ("  ", "country is empty"),
        ("Narnia", "unknown country 'Narnia'"),
        ("XX", "unknown country 'XX'"),
        ("ZZZ", "unknown country 'ZZZ'"),
    ],
)
def test_unknown_countries_say_why(value: str | None, note: str) -> None:
    assert normalise_country(value) == (None, note)


def test_every_iso_entry_round_trips() -> None:
    assert len(_countries.ISO) == 249
    for alpha2, alpha3, name in _countries.ISO:
        assert normalise_country(alpha2)[0] == alpha2
        assert normalise_country(alpha3)[0] == alpha2, alpha3
        assert normalise_country(name)[0] == alpha2, name
        assert normalise_country(name.upper())[0] == alpha2, name


def test_codes_are_unique_and_aliases_point_at_iso_codes() -> None:
    alpha2 = [a for a, _, _ in _countries.ISO]
    alpha3 = [b for _, b, _ in _countries.ISO]
    assert len(set(alpha2)) == len(set(alpha3)) == 249
    assert set(_countries.ALIASES.values()) <= set(alpha2)
