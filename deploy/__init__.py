"""Running mhin-eval as several replicas behind nginx (replicas.py, mhin-eval.conf.template)."""
