"""Channel URLs at rest: encrypted with Fernet (a configured key, or one derived from
SECRET_KEY), and shown again only as scheme and host."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from broadsheet.channels import vault

URL = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"


def test_sealed_urls_read_back_only_with_the_same_key(settings):
    settings.CHANNEL_KEY = ""
    sealed = vault.seal(URL)
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in sealed and vault.reveal(sealed) == URL
    # Derived from SECRET_KEY (HKDF): another secret key cannot read it.
    settings.SECRET_KEY = "another-secret-key"
    with pytest.raises(vault.Unreadable):
        vault.reveal(sealed)


def test_a_configured_key_encrypts_and_older_keys_still_decrypt(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CHANNEL_KEY = old
    sealed_before = vault.seal(URL)
    settings.CHANNEL_KEY = f"{new},{old}"  # rotation: the first key encrypts, any decrypts
    assert vault.reveal(sealed_before) == URL
    sealed_after = vault.seal(URL)
    settings.CHANNEL_KEY = new
    assert vault.reveal(sealed_after) == URL
    with pytest.raises(vault.Unreadable):
        vault.reveal(sealed_before)
    settings.CHANNEL_KEY = ""  # the derived key is not the configured one
    with pytest.raises(vault.Unreadable):
        vault.reveal(sealed_after)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("json://127.0.0.1:8080/hook/s3cret?x=1", "json://127.0.0.1:8080/…"),
        ("jsons://user:pw@hooks.example.org/p", "jsons://hooks.example.org/…"),
        ("mailtos://user:pass@smtp.example.org", "mailtos://smtp.example.org/…"),
        (URL, "slack://T…"),  # the "host" of these is a token
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://4…"),
        ("tgram://123456789:abcdefg_hijklmnop/12315544/", "tgram://1…"),
    ],
)
def test_masked_urls_show_the_scheme_and_a_real_host_only(url, shown):
    assert vault.mask(url) == shown
