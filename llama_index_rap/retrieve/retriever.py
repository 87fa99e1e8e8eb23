"""RAPRetriever: RAP's "Retrieve" step as a LlamaIndex multimodal retriever.

For a query image (and an optional question) it detects regions that may hold a concept,
encodes them together with the whole image in one batched pass, searches the user's
concepts for all crops at once, merges hits by concept, drops those farther than
``max_distance`` (so a stranger retrieves nothing) and keeps ``top_k``. Concepts named in
the question come first, capped separately.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.base_multi_modal_retriever import MultiModalRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.image_retriever import BaseImageRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, QueryType

from llama_index_rap.detect.boxes import Box
from llama_index_rap.detect.yolo import YOLODetector
from llama_index_rap.errors import EncoderCapabilityError, InvalidInputError
from llama_index_rap.retrieve.mentions import find_mentions
from llama_index_rap.retrieve.nodes import Match, Reason, concept_node
from llama_index_rap.retrieve.query import RAPQuery, query_image
from llama_index_rap.store.schema import Concept, SearchHit

MARGIN = 0.05
"""How much farther than a region's nearest concept another may be and still be handed over
from that region (squared L2). Measured on DreamBooth (one subject a photo, the offline
profile at 0.40, five splits): photos handed a wrong concept 6.6% -> 2.4% with one photo per
concept and 11.2% -> 1.3% with three, true concepts kept as before; 0.1 kept 3.1% wrong with
three photos, 0 (only the nearest) the fewest, but no second concept of a region at all.
Concepts of one category competing (only the nearest dog of a region) did no better than this
rule at 0.40 and worse above it, so it is not used.
"""

if TYPE_CHECKING:
    from PIL import Image

    from llama_index_rap.encode.base import ImageEncoder
    from llama_index_rap.store.concepts import ConceptStore

logger = logging.getLogger(__name__)

DEFAULT_MAX_DISTANCE = 0.8
"""Squared L2 between unit vectors (cosine 0.6): the ``default`` profile's cut-off (ViT-L-14-336).

Chosen from what CLIP ViT-L/14 image-to-image cosines usually are (the same object in two
photos above 0.7, unrelated photos below 0.5); it could not be measured here (no weights
offline): measure it on your data with ``rap eval retrieval`` and set ``max_distance``.
Each profile carries its own (:attr:`~llama_index_rap.models.specs.ModelProfile.max_distance`);
the ``offline`` profile's was measured on real photos (``benchmarks/quality.py``)."""


@dataclass(frozen=True)
class CropResult:
    """One region that was searched and what it matched.

    Args:
        box: The region (``None``: the whole image).
        hits: Concepts within ``max_distance``, nearest first.
    """

    box: Box | None
    hits: list[SearchHit]


@dataclass(frozen=True)
class RetrievalReport:
    """What a retrieval found and how.

    Args:
        nodes: The retrieved concepts, as :meth:`RAPRetriever.retrieve` returns them.
        crops: Every region searched, with its hits.
        timings: Seconds per stage (``detect``, ``encode``, ``search``, ``total``).
    """

    nodes: list[NodeWithScore]
    crops: list[CropResult]
    timings: dict[str, float] = field(default_factory=dict)


class RAPRetriever(MultiModalRetriever):
    """Find a user's concepts in an image (and by name in a question).

    Args:
        store: The concept store.
        detector: A :class:`YOLODetector`; ``"auto"`` builds the store's model profile's on
            first use (none for a profile without one); ``None`` searches given boxes and
            the whole image only.
        embedding: The image encoder (any the store takes); the store's by default. It must
            be the one the store was written with.
        user: The user whose concepts are searched (a :class:`RAPQuery` may name another).
        top_k: Concepts returned from the image (the paper used 2). Each box the caller
            gives also keeps its own nearest concept, so a picture with more given boxes
            than ``top_k`` can return one concept per box.
        per_crop_k: Concepts searched per crop before merging (at least ``top_k``).
        max_distance: Farthest match kept (squared L2 between unit vectors); ``"profile"``
            (or ``"store"``) takes the store's: the distance it was calibrated with
            (:meth:`ConceptStore.calibrate`), else its model profile's; ``None`` keeps every
            match.
        margin: A concept found in a region must be within this of the region's nearest
            concept: one much farther does not ride along (on DreamBooth photos of one subject
            each, the photos handed a wrong second concept fell from 6.6% to 2.4%;
            benchmarks/README.md). ``None``: no such rule.
        max_mentions: Concepts returned because the question names them (besides ``top_k``).
        whole_image: Also search the whole image (always done when nothing is detected).
        callback_manager: LlamaIndex callbacks.
        verbose: Log each retrieval.
    """

    def __init__(
        self,
        store: ConceptStore,
        *,
        detector: YOLODetector | Literal["auto"] | None = "auto",
        embedding: object | None = None,
        user: str | None = None,
        top_k: int = 2,
        per_crop_k: int = 2,
        max_distance: float | Literal["profile", "store"] | None = "profile",
        margin: float | None = MARGIN,
        max_mentions: int = 3,
        whole_image: bool = True,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        if top_k < 0 or per_crop_k < 1 or max_mentions < 0:
            raise InvalidInputError(
                f"need top_k >= 0, per_crop_k >= 1, max_mentions >= 0; got {top_k}, "
                f"{per_crop_k}, {max_mentions}"
            )
        self.store = store
        self.user = store.user if user is None else user
        self.top_k = top_k
        self.per_crop_k = per_crop_k
        if isinstance(max_distance, str):
            max_distance = store.match_distance
        self.max_distance: float | None = max_distance
        self.margin = margin
        self.max_mentions = max_mentions
        self.whole_image = whole_image
        self._detector = detector
        self._embedding: ImageEncoder | None = None
        if embedding is not None:
            from llama_index_rap.encode.adapter import as_image_encoder

            self._embedding = as_image_encoder(embedding)

    @property
    def detector(self) -> YOLODetector | None:
        """The detector (built from the store's profile when ``"auto"``)."""
        if self._detector == "auto":
            from llama_index_rap.models.specs import get_profile

            spec = get_profile(self.store.models).detector
            self._detector = YOLODetector(spec) if spec is not None else None
        return self._detector

    @property
    def embedding(self) -> ImageEncoder:
        """The image encoder."""
        return self._embedding or self.store.embedding

    # LlamaIndex hooks ---------------------------------------------------------------------

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        report = self.report(query_bundle)
        if isinstance(query_bundle, RAPQuery):
            query_bundle.report = report  # what was searched travels with the query
        return report.nodes

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)

    # MultiModalRetriever declares the public image methods abstract again; they keep
    # BaseImageRetriever's behaviour (a str is a query text or an image path).

    def text_to_image_retrieve(self, str_or_query_bundle: QueryType) -> list[NodeWithScore]:
        """Concepts named in the text first, then those whose images match it."""
        return BaseImageRetriever.text_to_image_retrieve(self, str_or_query_bundle)

    def image_to_image_retrieve(self, str_or_query_bundle: QueryType) -> list[NodeWithScore]:
        """Concepts in an image (a path, or a :class:`RAPQuery` with any image)."""
        return BaseImageRetriever.image_to_image_retrieve(self, str_or_query_bundle)

    async def atext_to_image_retrieve(self, str_or_query_bundle: QueryType) -> list[NodeWithScore]:
        """Async :meth:`text_to_image_retrieve`."""
        return await BaseImageRetriever.atext_to_image_retrieve(self, str_or_query_bundle)

    async def aimage_to_image_retrieve(self, str_or_query_bundle: QueryType) -> list[NodeWithScore]:
        """Async :meth:`image_to_image_retrieve`."""
        return await BaseImageRetriever.aimage_to_image_retrieve(self, str_or_query_bundle)

    def text_retrieve(self, str_or_query_bundle: QueryType) -> list[NodeWithScore]:
        """Concepts named in the text, then concepts whose images match it (text tower)."""
        return self.text_to_image_retrieve(str_or_query_bundle)

    async def atext_retrieve(self, str_or_query_bundle: QueryType) -> list[NodeWithScore]:
        """Async :meth:`text_retrieve`."""
        return await self.atext_to_image_retrieve(str_or_query_bundle)

    def _text_to_image_retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        user = getattr(query_bundle, "user", None) or self.user
        text = query_bundle.query_str
        named = self._mentions(text, self.store.list(user=user))
        matches = list(named)
        embed_texts = getattr(self.embedding, "embed_texts", None)
        if text.strip() and self.top_k and embed_texts is not None:
            try:
                vector = embed_texts([text])
            except EncoderCapabilityError as e:
                logger.info("text-to-image search skipped: %s", e)
                return self._nodes(matches, user)
            hits = self.store.search(vector, k=self.top_k + len(named), user=user)[0]
            seen = {m.concept_id for m in named}
            matches += [
                Match(h.concept_id, "text", h.distance, h.row_id)
                for h in hits
                if h.concept_id not in seen
            ][: self.top_k]
        return self._nodes(matches, user)

    async def _atext_to_image_retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._text_to_image_retrieve, query_bundle)

    def _image_to_image_retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._retrieve(query_bundle)

    async def _aimage_to_image_retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await self._aretrieve(query_bundle)

    # the work -----------------------------------------------------------------------------

    def _mentions(self, text: str, concepts: Sequence[Concept]) -> list[Match]:
        if not text.strip() or not self.max_mentions:
            return []
        named = find_mentions(text, concepts)[: self.max_mentions]
        return [Match(c.concept_id, "name", 0.0) for c in named]

    def crops(
        self, image: Image.Image, boxes: Sequence[Box], categories: Sequence[str] = ()
    ) -> list[tuple[Box | None, Image.Image]]:
        """The regions to search: given boxes, detections, and the whole image (``None``).

        Args:
            image: The query image.
            boxes: Regions given by the caller.
            categories: What YOLO-World should look for (the user's concept categories).
        """
        regions: list[Box | None] = list(usable_boxes(image, boxes))
        if self.detector is not None:
            regions += self.detector.detect(image, sorted(set(categories)))
        regions = [b for b in regions if b is None or (b.width >= 1 and b.height >= 1)]
        if self.whole_image or not regions:
            regions.append(None)
        return [(b, image if b is None else image.crop(b.as_tuple())) for b in regions]

    def report(self, query: QueryType) -> RetrievalReport:
        """Retrieve and also return every crop searched, its hits and the stage timings.

        The same work as :meth:`retrieve`, without LlamaIndex's events (``retrieve`` of a
        :class:`RAPQuery` also leaves this report on ``query.report``).
        """
        bundle = QueryBundle(query) if isinstance(query, str) else query
        image = query_image(bundle, self.store.limits.images)
        user = getattr(bundle, "user", None) or self.user
        boxes = [Box.of(b) for b in getattr(bundle, "boxes", ())]
        return self._find(bundle.query_str, image.image if image else None, boxes, user)

    def _find(
        self, question: str, image: Image.Image | None, boxes: list[Box], user: str
    ) -> RetrievalReport:
        start = time.perf_counter()
        with self.store.snapshot():  # one version check for the list, search and records
            concepts = self.store.list(user=user)
            crops: list[tuple[Box | None, Image.Image]] = []
            if image is not None and self.top_k and concepts:
                categories = [c.category for c in concepts if c.category]
                crops = self.crops(image, boxes, categories)
            detect = time.perf_counter() - start
            given = len(usable_boxes(image, boxes)) if crops and image is not None else 0
            report = self.match(question, crops, user, concepts, given)
        report.timings["detect"] = detect
        report.timings["total"] = time.perf_counter() - start
        if self._verbose:
            names = [n.node.metadata["name"] for n in report.nodes]
            logger.info("retrieved %s in %.3fs", names, report.timings["total"])
        return report

    def match(
        self,
        question: str,
        crops: Sequence[tuple[Box | None, Image.Image]],
        user: str | None = None,
        concepts: Sequence[Concept] | None = None,
        given: int = 0,
    ) -> RetrievalReport:
        """Concepts named in ``question``, then those the crops match (one encode, one search).

        The second half of :meth:`report`, for callers that find the regions themselves
        (a workflow's detect step, for instance).

        Args:
            question: The question (may be empty).
            crops: ``(box, cropped image)`` pairs, as :meth:`crops` returns them.
            user: Whose concepts (the retriever's user by default).
            concepts: The user's concepts, if already listed.
            given: How many of the first crops are boxes the caller gave (each keeps its
                nearest concept).
        """
        user = user or self.user
        concepts = self.store.list(user=user) if concepts is None else concepts
        timings: dict[str, float] = {}
        named = self._mentions(question, concepts)
        matches: list[Match] = list(named)
        searched: list[CropResult] = []
        if crops and self.top_k and concepts:
            tick = time.perf_counter()
            images = [c for _, c in crops]
            vectors = self.embedding.embed_images(images, batch_size=len(images))
            timings["encode"] = time.perf_counter() - tick
            tick = time.perf_counter()
            hits = self.store.search(
                vectors,
                k=max(self.per_crop_k, self.top_k),
                user=user,
                max_distance=self.max_distance,
            )
            timings["search"] = time.perf_counter() - tick
            matches += self._merge(hits, list(crops), {m.concept_id for m in named}, given)
            searched = [CropResult(box, found) for (box, _), found in zip(crops, hits, strict=True)]
        return RetrievalReport(self._nodes(matches, user), searched, timings)

    def _merge(
        self,
        hits: list[list[Any]],
        crops: list[tuple[Box | None, Image.Image]],
        exclude: set[str],
        given: int = 0,
    ) -> list[Match]:
        """Best match per concept; each given box's nearest concept, then the nearest rest."""
        best: dict[str, Match] = {}
        for crop_index, crop_hits in enumerate(hits):
            box = crops[crop_index][0]
            nearest = crop_hits[0].distance if crop_hits else 0.0
            for hit in crop_hits:
                if hit.concept_id in exclude:
                    continue
                if self.margin is not None and hit.distance > nearest + self.margin:
                    break  # much farther than this region's nearest concept: not in it
                old = best.get(hit.concept_id)
                if old is None or hit.distance < old.distance:
                    reason: Reason = (
                        "whole-image"
                        if box is None
                        else "box"
                        if crop_index < given
                        else "detection"
                    )
                    best[hit.concept_id] = Match(
                        hit.concept_id,
                        reason,
                        hit.distance,
                        hit.row_id,
                        crop_index,
                        box,
                        self.max_distance,
                        hit.negative_distance,
                    )
        ranked = sorted(best.values(), key=lambda m: m.distance)
        if not self.top_k:
            return []
        boxed = {
            h.concept_id
            for crop_hits in hits[:given]
            for h in [next((h for h in crop_hits if h.concept_id not in exclude), None)]
            if h is not None
        }
        room = max(0, self.top_k - len(boxed))
        rest = [m for m in ranked if m.concept_id not in boxed][:room]
        keep = boxed | {m.concept_id for m in rest}
        return [m for m in ranked if m.concept_id in keep]

    def _nodes(self, matches: list[Match], user: str) -> list[NodeWithScore]:
        found: dict[str, Concept] = self.store.by_ids([m.concept_id for m in matches], user=user)
        return [concept_node(found[m.concept_id], m) for m in matches if m.concept_id in found]


def usable_boxes(image: Image.Image, boxes: Sequence[Box]) -> list[Box]:
    """The caller's boxes clipped to the image, those left at least a pixel wide and high."""
    clipped = [Box.clipped_to(b, image.width, image.height) for b in boxes]
    return [b for b in clipped if b.width >= 1 and b.height >= 1]
