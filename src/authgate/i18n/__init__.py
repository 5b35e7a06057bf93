"""Localisation: Accept-Language negotiation and the en/ko message catalogue."""

from authgate.i18n.catalogue import translate
from authgate.i18n.negotiate import CONTENT_LANGUAGE, negotiate

__all__ = ["CONTENT_LANGUAGE", "negotiate", "translate"]
