"""Pretrained presets live here, one folder per `<model>_<dataset>` (filled by the zoo issue)."""
