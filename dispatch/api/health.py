"""Liveness."""

from flask.views import MethodView

from dispatch.api.common import Blueprint

blp = Blueprint("health", __name__, url_prefix="/", description="Service health")


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(security=[])
    def get(self) -> dict[str, str]:
        """Say the web process is alive."""
        return {"status": "ok"}
