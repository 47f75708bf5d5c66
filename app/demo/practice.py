"""The demo practice: a two-location orthopedics and sleep-medicine group in Chicago."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.practice import service as practice_service
from app.practice import settings as practice_settings
from app.practice.schemas import LocationCreate, ScoringSettingsIn, ServiceCreate

ORTHOPEDICS = ServiceCreate(
    code="orthopedics",
    name="Orthopedics",
    synonyms=[
        "orthopedic", "orthopaedics", "orthopedic surgeon", "bone doctor", "knee", "knee pain",
        "knee replacement", "torn acl", "acl tear", "meniscus tear", "torn meniscus", "hip pain",
        "hip replacement", "joint pain", "joint replacement", "back pain", "sciatica",
        "shoulder pain", "rotator cuff", "frozen shoulder", "sports injury", "sprained ankle",
        "ankle pain", "fracture", "broken bone", "carpal tunnel", "tendonitis", "arthritis",
        # shorthand and the words people use for the same visits
        "ortho", "orthopedist", "orthopaedic surgeon", "shoulder", "shoulder surgery", "hip",
        "ankle", "sprain", "sprained", "wrist", "broken wrist", "elbow", "tennis elbow",
        "achilles", "plantar fasciitis", "bursitis", "acl", "tendinitis", "bad back",
        "back hurts", "back is killing me", "lower back", "spine", "neck pain", "scoliosis",
        "osteoarthritis", "ligament", "tendon", "heel pain", "foot pain",
        # Spanish
        "ortopedia", "ortopedista", "ortopedico", "traumatologo", "traumatologia",
        "doctor de huesos", "rodilla", "dolor de rodilla", "cadera", "hombro", "espalda",
        "dolor de espalda", "espalda baja", "dolor lumbar", "lumbar", "columna", "tobillo",
        "esguince", "torcedura", "codo", "muneca", "hueso roto", "huesos", "fractura",
        "menisco", "ligamento", "ligamento cruzado", "manguito rotador", "tunel carpiano",
        "fascitis plantar", "tendinitis", "artritis", "artrosis", "ciatica",
        "dolor en las articulaciones", "articulaciones", "lesion deportiva", "reemplazo",
        "cirugia de rodilla", "cirugia de hombro",
    ],
    urgency_phrases=[
        "can't walk", "can't put weight", "can't bear weight", "locked knee", "knee gave out",
        "swelling getting worse",
    ],
    red_flag_phrases=[
        "bone sticking out", "numbness in both legs", "loss of bladder control",
        "leg turned cold",
    ],
)  # fmt: skip
SLEEP_MEDICINE = ServiceCreate(
    code="sleep-medicine",
    name="Sleep Medicine",
    synonyms=[
        "sleep doctor", "snoring", "loud snoring", "sleep apnea", "obstructive sleep apnea",
        "stop breathing at night", "insomnia", "can't sleep", "cpap", "cpap mask", "sleep study",
        "home sleep test", "restless legs", "narcolepsy", "daytime sleepiness", "always tired",
        # shorthand and the words people use for the same visits
        "sleep", "sleeping", "asleep", "snore", "apnea", "osa", "bipap", "sleepwalking",
        "tired all the time", "waking up", "wake up at night", "wake up gasping",
        "gasping at night", "stop breathing while sleeping", "stop breathing in my sleep",
        # Spanish
        "sueno", "estudio del sueno", "doctor del sueno", "apnea del sueno", "ronquidos",
        "ronquido", "roncar", "ronco", "ronca", "roncadera", "insomnio", "dormir", "duermo",
        "dormido", "dormirme", "me despierto", "dejo de respirar", "piernas inquietas",
        "narcolepsia", "somnolencia", "cansancio", "cansado", "cansada", "mascarilla cpap",
    ],
    urgency_phrases=["fell asleep driving", "falling asleep at the wheel", "nodded off driving"],
    red_flag_phrases=["stopped breathing and turned blue"],
)  # fmt: skip

_WEEKDAYS_8_TO_5 = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
# Thanksgiving, Christmas, New Year's Day.
_HOLIDAYS = ["2026-11-26", "2026-12-25", "2027-01-01"]
_PLANS = ["Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Humana", "Medicare"]

STREETERVILLE = LocationCreate.model_validate(
    {
        "name": "Lakeshore Streeterville",
        "address": "680 N Lake Shore Dr, Suite 1100",
        "postal_code": "60611",
        "phone": "+13125550140",
        "hours": {**_WEEKDAYS_8_TO_5, "sat": [["08:00", "12:00"]]},
        "holidays": _HOLIDAYS,
        "services": ["orthopedics", "sleep-medicine"],
        "accepts_new_patients": True,
        "languages": ["en", "es"],
        "insurance_plans": [*_PLANS, "Medicaid"],
        "min_age": 16,
        "service_radius_miles": 15,
    }
)
NAPERVILLE = LocationCreate.model_validate(
    {
        "name": "Lakeshore Naperville",
        "address": "1020 E Ogden Ave, Suite 200",
        "postal_code": "60540",
        "phone": "+16305550177",
        "hours": _WEEKDAYS_8_TO_5,
        "holidays": _HOLIDAYS,
        "services": ["orthopedics", "sleep-medicine"],
        "accepts_new_patients": True,
        "languages": ["en", "es"],
        "insurance_plans": _PLANS,
        "min_age": 12,
        "service_radius_miles": 20,
    }
)
SETTINGS = ScoringSettingsIn(
    red_flag_phrases=["worst headache of my life", "coughing up blood"],
    duplicate_window_hours=24 * 30,
)


async def seed(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Services first: locations name them by code."""
    await practice_settings.put(session, org_id, SETTINGS)
    for service in (ORTHOPEDICS, SLEEP_MEDICINE):
        await practice_service.create_service(session, org_id, service)
    for location in (STREETERVILLE, NAPERVILLE):
        await practice_service.create_location(session, org_id, location)
