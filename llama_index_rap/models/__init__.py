"""Models: what to load, where its weights are, and loading it once.

``specs`` names models and profiles, ``hub`` finds weights on disk or the hub, ``loaders``
and ``image_encoders`` load them once per process, and ``tiny`` builds the random-weight
models offline. Nothing heavy is imported here: torch, open_clip, ultralytics and
transformers load only when a model does.
"""
