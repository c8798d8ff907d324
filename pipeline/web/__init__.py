"""The analyst's view: the day's stories, search across spellings and one-click judgements.

One FastAPI application (:func:`pipeline.web.app.create_app`) served by ``newsmon serve`` and
mounted inside Airflow's API server by ``pipeline.airflow.plugin``.
"""
