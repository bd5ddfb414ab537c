from bidding.tenders import services as tenders
from core.notifications import services
from core.notifications.models import Notification
from tests import factories


def answered_tender(*, registered=(), ask_as=None):
    """A published tender whose documents ``registered`` obtained; ``ask_as`` (or the
    first of them) asks a question and the tenderer answers it."""
    owner = factories.tenderer()
    tender = factories.published_tender(user=owner)
    for user in registered:
        tenders.document_obtain(user=user, tender=tender)
    asker = ask_as or registered[0]
    item = tenders.clarification_ask(user=asker, tender=tender, question="哪个厚度为准？")
    tenders.clarification_answer(user=owner, tender=tender, clarification=item,
                                 answer="以图纸为准")
    return tender, owner


def tick():
    """The notification jobs as one clock tick runs them."""
    services.dispatch_events()
    services.run_schedules()
    services.email_pending()


def of_kind(kind):
    return Notification.objects.filter(kind=kind)
