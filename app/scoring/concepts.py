"""The built-in triage concepts: what a nurse line screens for, in lay English and Spanish.

Each concept has a code (`category.name`), a level and patterns (app.scoring.patterns).
`with_` patterns must also occur somewhere in the text (a swollen face is anaphylaxis only
with an allergen, a bleed is a pregnancy emergency only in a pregnancy); `unless` patterns in
the same clause cancel the match (breathing pauses described with snoring are sleep apnea).
Several definitions may share a code; an organisation's concepts add to these, never replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["emergency", "crisis", "urgent", "soon"]


@dataclass(frozen=True, slots=True)
class ConceptDef:
    code: str
    level: Level
    patterns: tuple[str, ...]
    with_: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]


def c(
    code: str,
    level: Level,
    *patterns: str,
    with_: tuple[str, ...] = (),
    unless: tuple[str, ...] = (),
) -> ConceptDef:
    return ConceptDef(code, level, patterns, with_, unless)


# fmt: off
E: Level = "emergency"
PAIN = "pain*|pian*|hurt*|ache*|aching|pressure|presure|tight*|squeez*|crush*|heav*"
CHEST = "chest*|chset"
SUDDEN = ("sudden*", "all ~1 of ~1 a? sudden", "out ~1 of ~1 nowhere", "instantly",
          "de ~1 repente", "derrepente", "de ~1 golpe", "repentin*", "subit*", "bolt")
BABY = "baby|babys|bebe|bebes|infant|newborn|toddler|nino|nina|bby|recien|hijo|hija|bebito*"
YOUNG = (
    "newborn", "infant", "recien ~1 nacid*", "<infant> ~1 month|months|mo|mos|mes|meses",
    "<weeks> ~1 week|weeks|wk|wks|semana|semanas",
)
FEVER = "fever*|temp|temperature|fiebre|calentura|hot|caliente|burning|ardiendo"
PREGNANT = ("pregnan*", "preg", "preggo", "prego", "embaraz*", "encinta",
            "im|at|estoy|las ~1 <num10> ~1 weeks|semanas")
SLEEPING = ("sleep*", "asleep", "snor*", "apnea", "cpap", "ronc*", "duerm*", "dormi*", "sueno",
            "noche", "at ~1 night", "wake|waking ~1 up? gasp*")
ALLERGEN = ("allerg*", "alerg*", "reaction", "reaccion", "stung", "sting", "bee", "abeja",
            "peanut*", "nut", "nuts", "mani", "cacahuate*", "shrimp", "shellfish", "camaron*",
            "ate|eating|comer|comio", "medicine|medication|penicil*|medicina", "epi*", "hives")

EMERGENCIES: tuple[ConceptDef, ...] = (
    # cardiac
    c("cardiac.chest_pain", E,
      f"{CHEST} ~4 {PAIN}|burning|hurts|feels", f"{PAIN} ~5 {CHEST}", "chestpain*",
      f"clutch*|grab*|holding ~2 {CHEST}", f"sitting|standing|elephant ~3 on ~2 {CHEST}",
      "heart ~4 squeez*|crush*",
      "dolor* ~4 pecho", "pecho ~3 duele|dolor|apret*|aplast*", "duele* ~4 pecho",
      "presion|opresion|aprieta|apretado|aplast* ~4 pecho"),
    c("cardiac.heart_attack", E,
      "heart ~1 attack*", "heartattack", "cardiac ~1 arrest", "infarto*",
      "ataque ~2 corazon|corason|cardiaco", "paro ~1 cardiaco|cardiaco"),
    # stroke (BE-FAST)
    c("stroke.stroke", E, "stroke|stroak|strok|strokes", "derrame*", "embolia",
      "ataque ~1 cerebral", "accidente ~1 cerebrovascular"),
    c("stroke.face_droop", E,
      "face|facial|mouth|smile|lip|lips|cheek ~4 droop*|crooked|uneven|lopsided|sag*|numb",
      "droop* ~4 face|mouth|side|eye|eyes", "droopy",
      "cara|boca ~3 caida|caido|torcid*|chueca|chueco|ladead*", "torcio ~3 boca|cara",
      "cayo ~4 cara", "adormec* ~4 cara|mitad|lado", "mitad ~3 cara ~3 dormid*|adormec*"),
    c("stroke.one_side_weak", E,
      "one|1|left|right|half ~1 side ~5 numb*|weak*|paraly*|dead|heavy",
      "numb*|weak*|paraly* ~4 one|half ~1 side|body",
      "side ~2 is? weak|numb", "arm ~1 weakness"),
    c("stroke.sudden_limb", E,
      "cant|cannot|couldnt|unable ~2 move|lift|raise|use|feel ~3 arm|leg|hand|side|face",
      "no ~1 puedo|puede ~1 mover ~3 brazo|pierna|lado|mano",
      with_=SUDDEN),
    c("stroke.speech", E,
      "slur*", "talk*|speak*|speech ~3 funny|weird|strange|garbled|jumbled|slurred|wrong",
      "words ~3 dont|doesnt|not ~1 make ~1 sense", "habla ~2 raro|rara|extrano|chistoso|mal",
      "arrastra* ~2 palabras", "lengua ~1 trabada"),
    c("stroke.sudden_speech", E,
      "cant|cannot|unable ~2 talk|speak", "trouble|difficulty ~2 speaking|talking",
      "confus*", "no ~1 puede ~1 hablar", "cant|cannot ~1 find ~2 words",
      "arm|leg|hand ~2 dead|limp", with_=SUDDEN),
    c("stroke.vision", E, "lost|lose|loss|losing ~3 vision|sight", "perdi|perdio ~2 vista",
      with_=SUDDEN),
    # breathing
    c("breathing.not_breathing", E,
      "not|isnt|stopped|wasnt|quit|arent ~1 breath*|breth*|brething",
      "no ~2 respira|respiraba|respirando", unless=SLEEPING),
    c("breathing.not_breathing", E, "dejo|deja ~2 de ~1 respirar", unless=SLEEPING),
    c("breathing.cant_breathe", E,
      "cant|cannot|couldnt|unable|cnt ~2 breath*|breth*|brethe",
      "cant|cannot ~3 get ~2 air", "cant|cannot ~3 catch ~2 breath", "barely ~1 breath*",
      "hard|difficult*|trouble|struggl*|difficulty|labored|laboured ~3 breath*|breth*",
      "short* ~1 of? breath", "suffocat*", "sofoc*",
      "no ~1 puedo|puede|podia ~2 respirar", "falta ~2 aire|respiracion",
      "dificultad ~2 respirar", "cuesta ~2 respirar"),
    c("breathing.gasping", E, "gasp*", "jade*", "ahog*", "chok*", "atragant*",
      "wheez* ~6 cant|cannot", unless=(*SLEEPING, "words")),
    c("breathing.inhaler_failing", E,
      "inhaler|inhalador|nebulizer ~3 not|isnt|doesnt|wont|no ~2 work*|help*|sirve|funciona"),
    c("breathing.cyanosis", E,
      "turn*|going|gone|went|look*|is|are ~2 blue|purple|gray|grey",
      "lips|lip|face|skin ~3 blue|purple|gray|grey",
      "poniendo|puso|pone ~2 morad*|azul*", "labios ~3 morad*|azul*"),
    # anaphylaxis
    c("anaphylaxis.throat", E,
      "throat ~3 clos*|swell*|swollen|tight*|closing",
      "garganta ~3 cerr*|cierra|hinch*|inflam*|apret*", "cierra|cierr*|cerr* ~2 garganta",
      "tongue ~3 swell*|swollen", "swell*|swollen ~3 tongue", "lengua ~2 hinch*|inflam*",
      "hinch*|inflam* ~3 lengua|garganta", "anaph*", "anafil*",
      "severe|bad|serious|grave|fuerte ~2 allerg*|alerg* ~1 reaction|reaccion",
      "allerg*|alerg* ~1 reaction|reaccion ~2 severe|bad|serious|grave|fuerte",
      "epi ~1 pen", "epipen*", "epi-pen", "cant|cannot|no ~1 puedo? ~1 swallow|tragar"),
    c("anaphylaxis.swelling", E,
      "face|lips|lip|cara|labios ~3 swell*|swollen|puff*|hinch*|inflam*",
      "swell*|hinch* ~3 face|lips|cara|labios",
      with_=ALLERGEN),
    # bleeding
    c("bleeding.heavy", E,
      "wont|cant|cannot|doesnt|not|wouldnt|isnt ~1 stop|stopping ~2 bleed*",
      "bleed* ~3 wont|not|doesnt|isnt ~1 stop*",
      "bleed* ~2 heav*|alot|lot|lots|badly|profus*|everywhere|through|nonstop",
      "heav*|severe|profuse|massive|uncontroll* ~2 bleed*",
      "blood ~2 everywhere|spurt*|gush*|pouring|squirt*", "gush*|spurt*|squirt* ~2 blood",
      "lot|lots|alot ~2 of? blood",
      "losing ~2 blood", "nosebleed* ~6 wont|not|doesnt|cant ~1 stop",
      "nose ~1 bleed* ~6 wont|not|doesnt|cant ~1 stop",
      "no ~1 para|deja ~2 de ~1 sangrar", "sangr* ~2 mucho|muchisimo|abundante|bastante",
      "sangrado ~2 abundante|fuerte|mucho", "mucha ~1 sangre", "sangre ~2 no ~1 para"),
    c("bleeding.vomit_blood", E,
      "vomit*|throw*|puk*|threw ~3 up? ~2 blood", "vomit* ~4 coffee ~1 ground*",
      "cough* ~3 up? ~1 blood", "black|tarry ~2 stool*|poop*",
      "vomit* ~3 sangre", "tos* ~3 sangre", "escup* ~2 sangre"),
    # poisoning and overdose
    c("poisoning.ingestion", E,
      "swallow*|drank|drink*|ingest*|ate|eaten|into|trago|tomo|bebio|comio|tomaron "
      "~5 bleach|poison*|chemical*|cleaner*|cleaning|detergent|pod|pods|batter*|antifreeze"
      "|oil|pill*|medic*|meds|tablets|fluid|gasoline|ammonia|cloro|veneno|pastilla*|pila"
      "|bateria*|quimico*|limpiador*|medicina*|medicamento*|detergente|pildora*",
      "whole|entire ~1 bottle|box|pack ~3 of? pill*|tylenol|meds|sleeping",
      "too ~1 much|many ~3 insulin|pill*|tylenol|meds|medic*|xanax|advil|oxy*",
      "bunch|handful ~2 of? pill*|meds", "took ~3 all ~2 pill*|meds",
      "took ~2 like? <num10> ~1 pill*|xanax|tylenol|advil|oxy*|meds|percocet*",
      "overdos*|od|sobredosis", "poisoned", "rat ~1 poison", "envenen*", "intoxic*",
      "frasco ~3 pastillas|pildoras", "demasiadas ~2 pastillas|pildoras",
      "todas ~2 pastillas|pildoras"),
    # seizures
    c("seizure.seizure", E,
      "seiz*|siez*|seasure*|convuls*|convulc*|convulsion*", "epilep* ~1 fit|attack|ataque",
      "having|keeps|had ~3 a? fit|fits", "eyes ~2 roll*|rolled", "foam* ~3 mouth",
      "ataque ~1 epilep*", "ojos ~2 voltearon|volteados|blancos", "voltearon ~2 ojos",
      "espuma ~3 boca"),
    # collapse and unconsciousness
    c("collapse.unconscious", E,
      "unconscious|inconscien*|unresponsive", "not|isnt|wont|doesnt|wasnt ~1 respond*",
      "passed|pass|passing ~1 out", "blacked|black ~1 out", "faint*", "keeled ~1 over",
      "collaps*", "desmay*", "desplom*", "desvanec*",
      "wont|cant|not|isnt|doesnt|cannot ~1 wake|waking ~2 up? him|her|them?",
      "hard ~2 to? wake", "no ~1 despierta|responde|reacciona",
      "perdio|perdi ~2 conocimiento|sentido", "loss ~1 of ~1 consciousness"),
    # major trauma
    c("trauma.major", E,
      "cant|cannot ~2 feel ~2 legs|arms|feet|body|hands|anything",
      "no ~1 siento|siente ~2 piernas|brazos|cuerpo|pies",
      "bone ~3 sticking|poking|coming|sticks ~1 out|through", "hueso ~3 salio|afuera|fuera",
      "salio ~2 hueso", "hit|struck ~1 by ~2 car|truck|bus|vehicle", "atropell*",
      "fell|fall|fallen|falling|cai|cayo ~5 roof|ladder|window|balcony|tree|techo|escalera"
      "|ventana|balcon|arbol",
      "fell|fall ~4 second|2nd|third|3rd ~1 floor|story",
      "bent|twisted|pointing|facing ~4 wrong ~1 way|backwards", "al ~1 reves",
      "stabbed|stab|acuchill*|apunal*", "gunshot|balazo|balacera",
      "got|been|was|been ~1 shot", "shot ~1 me|him|her", "dispararon",
      "tingl*|numb* ~3 both ~1 arm*|leg*|hand*|feet",
      "severe|bad|third ~2 burn*|burned|quemadura*", "quemadura* ~2 grave*|sever*",
      "burn*|quem* ~4 boiling|hirviendo|fire|fuego",
      "wound|gash|laceration|stab* ~4 stomach|belly|abdomen|chest|neck",
      "crushed|aplast* ~3 hand|arm|leg|foot|finger*|mano|pierna|brazo"),
    c("trauma.major", E,
      "cant|cannot|couldnt ~2 move ~2 legs|arms|body|neck",
      "no ~1 puede|puedo|podia ~1 mover ~2 piernas|brazos|cuerpo|cuello",
      with_=("accident*", "accidente*", "crash*", "choque*", "fell", "fall", "cai", "cayo",
             "hit|struck", "wreck")),
    c("trauma.head_injury", E,
      "hit|bang*|bump*|struck|injur*|golpe*|pego|pegue ~4 head|cabeza",
      "head ~1 injur*|trauma", "concussion",
      with_=("vomit*", "throw* ~1 up", "throwing", "confus*", "sleepy", "drowsy", "unconscious",
             "passed ~1 out", "wont ~1 wake", "bleed*", "seiz*", "confundid*", "somnolien*",
             "dormid*", "sangr*", "fainted", "faint*", "desmay*")),
    # sudden worst headache
    c("headache.thunderclap", E,
      "worst ~3 headache*|headach*|hedache*|head|migraine*", "headache* ~2 worst",
      "thunderclap", "head ~2 explod*", "like ~1 a? bolt|lightning",
      "peor ~3 dolor ~2 cabeza|cabesa", "dolor ~2 cabeza|cabesa ~3 mas ~1 fuerte",
      "headache*|hedache* ~6 stiff ~1 neck", "stiff ~1 neck ~6 headache*",
      "dolor ~2 cabeza|cabesa ~6 cuello ~1 rigido|tieso",
      "dolor ~2 cabeza|cabesa ~5 no ~1 veo|vision|borrosa",
      "headache* ~5 cant ~1 see|blurry|vision"),
    c("headache.sudden_severe", E,
      "excruciating|splitting|terrible|severe|horrible|explosive|bad|intense ~1 headache*",
      "headache* ~2 excruciating|terrible|severe|horrible",
      "dolor ~2 cabeza|cabesa ~4 fuerte|insoportable|horrible|terrible|repentino",
      "insoportable|horrible|terrible|fuerte ~1 dolor ~2 cabeza", with_=SUDDEN),
    # infants and young children
    c("infant.fever", E, *(f"{y} ~8 {FEVER}" for y in YOUNG), *(f"{FEVER} ~8 {y}" for y in YOUNG),
      f"{BABY} ~8 high|alta ~1 fever|temp*", f"{BABY} ~8 fiebre ~2 muy? ~1 alta",
      f"{BABY} ~8 <hitemp>", f"<hitemp> ~6 {BABY}"),
    c("infant.limp", E,
      f"{BABY} ~6 limp|floppy|letharg*|listless|decaid*|flojit*|aguad*|lacio",
      f"limp|floppy|letharg*|listless ~6 {BABY}", f"{BABY} ~6 hard ~2 wake",
      f"{BABY} ~6 burning ~1 up", "soft ~1 spot ~2 bulg*", "bulg* ~2 soft ~1 spot",
      "fontanel* ~2 bulg*", "rash|spots|manchas|puntitos ~4 no ~1 se ~1 quitan",
      "rash|spots ~4 dont|doesnt|wont ~1 fade"),
    c("fever.very_high", E, "fever|temp*|fiebre ~3 <hitemp>", "<hitemp> ~2 fiebre|grados",
      with_=(BABY, "month|months|mo|mos|week|weeks|wk|wks ~1 old")),
    # pregnancy
    c("pregnancy.bleeding", E, "bleed*|sangr*|clots|coagul*|soak*", with_=PREGNANT),
    c("pregnancy.pain", E,
      "severe|sharp|bad|terrible|strong|intense|fuerte|intenso|horrible ~3 pain|cramp*|dolor*",
      "dolor* ~2 muy? ~1 fuerte|intenso|horrible", with_=PREGNANT),
    c("pregnancy.warning", E,
      "baby ~3 stopped|not|isnt|hasnt ~1 moving|moved|kicking", "bebe ~1 no ~2 mueve|movido",
      "water ~1 broke|broken", "rompio ~2 fuente", "fuente ~2 rompio",
      "blurry|borrosa ~1 vision|vista", "vision|vista ~1 borrosa", with_=PREGNANT),
    c("pregnancy.loss", E, "miscarr*", "perdiendo ~3 bebe|embarazo", "aborto ~1 espontaneo"),
)

CRISES: tuple[ConceptDef, ...] = (
    c("suicide.ideation", "crisis",
      "suicid*|suicd*|sucid*|suiside*", "kill ~1 myself|himself|herself|themselves|meself",
      "kill ~1 my ~1 self", "end|ending|take|taking ~2 my|his|her|own ~1 own? ~1 life",
      "end ~1 it ~1 all", "to ~1 end ~1 it", "want|wanna|wish|wants ~2 die|dead",
      "dont|not ~1 want ~2 live|living|alive", "no ~1 reason ~3 live|living|on",
      "better ~1 off ~2 dead|without", "never ~1 wake ~1 up", "disap* ~2 forever",
      "cant ~1 go ~1 on ~1 like|anymore|living", "matarme|matarse|suicidarme|suicidarse",
      "quiere|quiero|va ~2 matar", "quitarme|quitarse ~1 la ~1 vida",
      "acabar|terminar ~2 con ~1 todo|vida", "quiero|quisiera|ganas ~2 morir*",
      "no ~1 quiero ~2 vivir|seguir", "mejor ~2 sin ~1 mi", "mejor ~1 muert*",
      "no ~3 sentido ~3 vida", "quiero ~1 desaparecer",
      "dont|cant|no ~2 see? ~1 a? ~1 point|reason ~3 living|live|life|going",
      "end ~1 things|everything", "dormir* ~3 no ~1 despertar*", "no ~1 volver ~1 a ~1 despertar"),
    c("suicide.self_harm", "crisis",
      "cutting ~1 myself|herself|himself", "hurt|harm|hurting|harming ~1 myself|himself|herself",
      "self ~1 harm*|injur*", "selfharm*", "cortando|cortarme|cortarse",
      "hacerme|hacerse ~1 dano"),
)

URGENCY: tuple[ConceptDef, ...] = (
    c("urgency.asap", "urgent", "asap", "as ~1 soon ~1 as ~1 possible", "right ~1 away",
      "immediately", "urgent*", "urgencia", "lo ~1 antes ~1 posible", "cuanto ~1 antes",
      "seen|see|appointment|in ~2 today", "today ~1 if ~1 possible", "hoy ~1 mismo",
      "same ~1 day"),
    c("urgency.severe_pain", "urgent",
      "unbearable|insoportable|excruciating|agonizing",
      "severe|terrible|horrible|extreme|intense|worst ~2 pain", "pain ~2 is? ~1 severe",
      "dolor ~1 muy? ~1 fuerte|intenso|horrible"),
    c("urgency.cant_bear_weight", "urgent",
      "cant|cannot|unable ~1 walk|stand", "cant|cannot|unable ~1 put|bear ~2 weight",
      "no ~1 puedo|puede ~1 caminar|apoyar|pararme|andar"),
    c("urgency.injury", "urgent",
      "broke|broken|fractur* ~3 my? ~1 arm|leg|wrist|ankle|hip|foot|hand|finger|bone|rib*",
      "arm|leg|wrist|ankle|hip|foot|hand|bone ~2 is? ~1 broken",
      "rompi|quebre ~2 brazo|pierna|muneca|tobillo|cadera|pie|mano|hueso",
      "dislocat*|disloc*", "popped ~1 out", "locked ~2 knee", "knee ~3 locked",
      "knee ~1 gave ~1 out"),
    c("urgency.high_fever", "urgent", "high ~1 fever|temp*", "fiebre ~1 alta",
      "fever|temp* ~3 <hitemp>"),
    c("urgency.drowsy_driving", "urgent",
      "asleep|dozed|nodded ~2 off? ~2 driving|wheel", "dormid* ~2 manejando|conduciendo"),
    c("urgency.soon", "soon", "this ~1 week", "esta ~1 semana", "tomorrow", "manana",
      "next ~1 few|couple ~2 days", "proximos ~1 dias", "soon|sooner|pronto",
      "within ~1 a? ~1 week", "getting|gets|get ~1 worse", "worsening", "empeor*",
      "cada ~1 vez ~2 peor|mas", "keeps ~1 getting ~1 worse"),
)

# Phrases that look like a concept and are something else: a match overlapping them is dropped.
BLOCKERS: tuple[str, ...] = (
    "blue ~1 cross|shield|care", "poison ~1 ivy|oak", "roble ~1 venenoso",
    "collapsed ~1 arch*", "fallen ~1 arch*", "choke ~2 words", "emergency ~1 room",
    "la|las|por|en|esta|cada ~1 manana|mananas", "light|little|slight|some ~1 bleeding|spotting",
    "poco ~1 sangrado", "sangrado ~1 ligero", "stroke ~1 of ~1 luck|genius",
    "heat ~1 stroke", "no ~1 rush|prisa", "not ~1 urgent", "no ~1 es ~1 urgente",
    "flu|allergy|cortisone ~1 shot|shots",
    "pain|dolor ~1 relief|reliever|relievers|management|killer|killers|clinic",
)
# fmt: on
