"""Tests of plantmind.language (a package, so that module names such as test_check and
test_cli do not collide with those of other test folders)."""
