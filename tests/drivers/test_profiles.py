"""The driver profiles (tests/profiles.py) agree with the factory and with the drivers themselves.

The shared tests trust a profile's facts (the parameter naming the server, the store, the
retry count; the capabilities a quirk stands for); here each fact is checked against the
driver, so a wrong or stale profile fails here, by name, rather than as a puzzling failure of
a behaviour test.
"""

from __future__ import annotations

import pytest
from profiles import CLOUD, LOCAL, PROFILES

import distfs
from distfs.factory import BUILTIN_DRIVERS
from distfs.tools.local import LocalStores


def test_every_built_in_driver_has_one_profile() -> None:
    modules = {b.module for b in BUILTIN_DRIVERS.values()}
    assert {BUILTIN_DRIVERS[name].module for name in PROFILES} == modules  # aliases (s3aws) share a profile
    assert sorted(LOCAL + CLOUD) == sorted(PROFILES)
    assert set(LOCAL).isdisjoint(CLOUD)


@pytest.mark.parametrize("name", CLOUD)
def test_cloud_profiles_name_the_drivers_parameters(name: str, local_stores: LocalStores) -> None:
    profile = PROFILES[name]
    parameters = local_stores.parameters(name)
    assert parameters[profile.endpoint].startswith("http://127.0.0.1:")
    assert parameters[profile.store_key]
    assert profile.retries in profile.no_retries
    for extra in (profile.chunk, profile.small_parts, profile.no_retries, profile.quick_retries):
        distfs.create(name, {**parameters, **extra})  # every declared parameter is accepted
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create(name, {**parameters, profile.retries: "many"})
    assert info.value.parameter == profile.retries


@pytest.mark.parametrize("name", CLOUD)
def test_quirks_stand_for_declared_capabilities(name: str, local_stores: LocalStores) -> None:
    profile = PROFILES[name]
    capabilities = profile.capabilities(local_stores)
    assert capabilities.crash_resume  # the resume tests suspend uploads in other processes
    assert capabilities.server_side_copy or not profile.copy_source
    assert not capabilities.empty_directories  # the marker tests expect directories to be prefixes
    assert profile.engine


@pytest.mark.parametrize("name", LOCAL)
def test_local_profiles_need_no_server(name: str, local_stores: LocalStores) -> None:
    profile = PROFILES[name]
    assert not profile.endpoint
    assert profile.admin is None
    driver = distfs.create(name, local_stores.parameters(name))
    driver.put_content("/p", b"x")
    assert driver.get_content("/p") == b"x"
