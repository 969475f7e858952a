//! A whole session built with the real operations from the built-in
//! template, shared by the report tests: five phases with notes, people of
//! every sector and tier in the room and remote, anonymous notes, clusters
//! (one merged, one dissolved), votes, a hidden note, a note full of
//! characters that break formats, and one question whose document is missing.
//! The session document holds the record of the meeting, written with the
//! real operations: the meeting's data, the table's conclusion on two
//! phases, three commitments (one made from a pledge), the next steps and
//! the questions left open.
//!
//! [`second_meeting`] is the session started from that one: it carries the
//! first meeting's commitments (one done, one in progress, one not started)
//! and open questions, and has no notes yet.
#![allow(dead_code)]

use automerge::AutoCommit;
use std::collections::{BTreeMap, HashMap};
use tavolo_model::ops::{self, NewNote, SessionInit};
use tavolo_model::record::{
    self, CarriedStatus, ClosingField, CommitmentInput, MeetingField, Record, SynthesisField,
};
use tavolo_model::report::{Lang, ReportOptions, Sources};
use tavolo_model::template::{DEFAULT_TEMPLATE_ID, Template};
use tavolo_model::{Participant, ParticipantId, QuestionDoc, RosterDoc, SessionDoc};

/// 2026-03-14 09:00 UTC: the session starts.
pub const START_MS: i64 = 1_773_478_800_000;
/// 2026-03-14 13:30 UTC (14:30 in Italy): the report is made.
pub const GENERATED_MS: i64 = 1_773_495_000_000;

/// The note that tries to break every format.
pub const TRICKY: &str = "Diciamo \"sì\", ma con calma, e senza fretta\nperché è già tardi: <script>alert('x')</script> à ù “così”";
/// Text of the note the facilitator hid: it must appear nowhere.
pub const HIDDEN_TEXT: &str = "Testo moderato SEGRETO-NASCOSTO";
/// The question whose document is missing from the sources.
pub const MISSING_QUESTION: &str = "pratiche";

/// (id, name, organization, sector, tier, attendance)
pub const PEOPLE: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "p_anna7Fq2",
        "Anna Bellini",
        "Comune di Borgo Lontano",
        "public",
        "founding_core",
        "in_room",
    ),
    (
        "p_giorgioK9x",
        "Giorgio Neri",
        "Azienda Sanitaria Sperimentale",
        "public",
        "strategic_extension",
        "in_room",
    ),
    (
        "p_marcoW4t",
        "Marco Ferri",
        "Cooperativa Il Mosaico",
        "social_private",
        "founding_core",
        "in_room",
    ),
    (
        "p_zebQx81Lm",
        "Zebedeo Quaglierini",
        "Cooperativa Fenicottero Viola",
        "social_private",
        "strategic_extension",
        "remote",
    ),
    (
        "p_luciaB7v",
        "Lucia Gori",
        "Associazione Borgo Vivo",
        "community",
        "strategic_extension",
        "remote",
    ),
    (
        "p_ettoreZ2",
        "Ettore Castagnoli",
        "Comitato Ortensia Bislacca",
        "community",
        "founding_core",
        "in_room",
    ),
    // Four more who write nothing: three people or more in each sector,
    // so the public version shows the sectors; within each, a tier of one
    // or two people, so it shows no tier (see `report_checks` for "altri").
    (
        "p_paolaR3d",
        "Paola Rinaldi",
        "Comune di Borgo Lontano",
        "public",
        "founding_core",
        "in_room",
    ),
    (
        "p_sergioM5k",
        "Sergio Monti",
        "Biblioteca Comunale",
        "public",
        "founding_core",
        "remote",
    ),
    (
        "p_ritaV6n",
        "Rita Valli",
        "Associazione Borgo Vivo",
        "community",
        "founding_core",
        "remote",
    ),
    (
        "p_nadiaT8s",
        "Nadia Tosi",
        "Cooperativa Il Mosaico",
        "social_private",
        "founding_core",
        "in_room",
    ),
];

/// Those who agreed, when joining, that the resoconto may list their
/// organization among those present. Anna's colleague Paola did not, nor
/// did Nadia, whose organization is listed anyway through Marco.
pub const LISTED: &[&str] = &["p_anna7Fq2", "p_marcoW4t", "p_luciaB7v", "p_sergioM5k"];

/// Who facilitated, as the record names them: never in the public version.
pub const FACILITATORS: &str = "Chiara Fabbri e Davide Rossini";

/// Organizations that made a commitment at the table. Two of them are also
/// the organizations of people who signed notes: the public version names
/// them in the commitments table and nowhere else.
pub const COMMITTED: &[&str] = &[
    "Comune di Santarcangelo di Romagna",
    "Cooperativa Il Mosaico",
    "Azienda Sanitaria Sperimentale",
];

pub struct Fixture {
    pub session_doc: AutoCommit,
    pub session: SessionDoc,
    pub roster: RosterDoc,
    pub questions: BTreeMap<String, QuestionDoc>,
    pub record: Record,
}

impl Fixture {
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            session: &self.session,
            roster: &self.roster,
            questions: &self.questions,
            record: &self.record,
        }
    }

    /// Sets the session's `organizations_public` through the real op.
    pub fn set_organizations_public(&mut self, public: bool) {
        ops::set_organizations_public(&mut self.session_doc, public).unwrap();
        self.session = SessionDoc::load(&self.session_doc).unwrap();
    }
}

pub fn options(public: bool, lang: Lang) -> ReportOptions {
    ReportOptions {
        public,
        lang,
        generated_at_ms: GENERATED_MS,
    }
}

pub fn url(question_id: &str) -> String {
    format!("automerge:q-{question_id}")
}

pub fn pid(short: &str) -> ParticipantId {
    let id = PEOPLE
        .iter()
        .find(|p| p.0.starts_with(&format!("p_{short}")))
        .map(|p| p.0)
        .unwrap_or_else(|| panic!("no participant {short}"));
    ParticipantId(id.to_string())
}

/// A question board under construction.
pub struct Board {
    pub doc: AutoCommit,
    clock: i64,
}

impl Board {
    pub fn new() -> Self {
        let mut doc = AutoCommit::new();
        ops::init_question_doc(&mut doc).unwrap();
        Self {
            doc,
            clock: START_MS,
        }
    }

    pub fn note(&mut self, id: &str, who: &str, category: Option<&str>, text: &str) -> &mut Self {
        self.note_as(id, who, category, text, false)
    }

    pub fn anon(&mut self, id: &str, who: &str, category: Option<&str>, text: &str) -> &mut Self {
        self.note_as(id, who, category, text, true)
    }

    fn note_as(
        &mut self,
        id: &str,
        who: &str,
        category: Option<&str>,
        text: &str,
        anonymous: bool,
    ) -> &mut Self {
        self.clock += 60_000;
        let new = NewNote {
            text: text.to_string(),
            category: category.map(str::to_string),
            anonymous,
            created_at: self.clock,
        };
        ops::add_note(&mut self.doc, id, &pid(who), &new).unwrap();
        self
    }

    pub fn cluster(&mut self, id: &str, title: &str, notes: &[&str]) -> &mut Self {
        ops::create_cluster_with(&mut self.doc, id, title, notes).unwrap();
        self
    }

    /// Each voter places one dot on the target.
    /// Each voter places one dot on the target, within the session's budget
    /// (3, the template's: the question sets none of its own).
    pub fn dots(&mut self, target: &str, voters: &[&str]) -> &mut Self {
        ops::set_voting(&mut self.doc, true, None).unwrap();
        for v in voters {
            ops::add_dot(&mut self.doc, target, &pid(v), 1, 3).unwrap();
        }
        self
    }

    pub fn load(&self) -> QuestionDoc {
        QuestionDoc::load(&self.doc)
    }
}

fn roster() -> RosterDoc {
    let mut doc = AutoCommit::new();
    ops::init_roster_doc(&mut doc).unwrap();
    for (i, (id, name, org, sector, tier, attendance)) in PEOPLE.iter().enumerate() {
        let p = Participant {
            name: name.to_string(),
            organization: org.to_string(),
            sector: sector.to_string(),
            tier: tier.to_string(),
            attendance: attendance.to_string(),
            joined_at: START_MS - 600_000 + i as i64 * 30_000,
            removed: false,
            listed: LISTED.contains(id),
        };
        ops::put_participant(&mut doc, &ParticipantId(id.to_string()), &p).unwrap();
    }
    RosterDoc::load(&doc)
}

/// The second meeting's session title.
pub const SECOND_TITLE: &str = "Tavolo di Negoziazione, seconda sessione";
/// The facilitator's note on the commitment in progress.
pub const PROGRESS_NOTE: &str = "Il primo educatore è in servizio dal 7 aprile; il secondo da maggio, quando il Comune conferma lo spazio.";

fn session_doc() -> AutoCommit {
    session_doc_titled("Tavolo di Negoziazione, prima sessione")
}

fn session_doc_titled(title: &str) -> AutoCommit {
    let t = Template::builtin(DEFAULT_TEMPLATE_ID).unwrap();
    let urls: HashMap<String, String> = t
        .phases
        .iter()
        .flat_map(|p| &p.questions)
        .map(|q| (q.id.clone(), url(&q.id)))
        .collect();
    let mut doc = AutoCommit::new();
    let init = SessionInit {
        template: &t,
        title,
        roster_url: "automerge:roster",
        question_urls: &urls,
    };
    ops::init_session_doc(&mut doc, &init).unwrap();
    doc
}

fn legittimazione(q: &mut BTreeMap<String, QuestionDoc>) {
    let mut b = Board::new();
    b.note("n_l1", "anna", None, "Conosciamo il territorio da dentro")
        .anon(
            "n_l2",
            "marco",
            None,
            "Abbiamo già lavorato insieme sui centri estivi",
        )
        .note("n_l3", "lucia", None, TRICKY)
        .note("n_l4", "zeb", None, HIDDEN_TEXT)
        .note(
            "n_l5",
            "ettore",
            None,
            "Ci mettiamo la faccia | davanti al paese",
        )
        .cluster("c_l1", "Radici nel territorio", &["n_l1", "n_l2"])
        .dots("c_l1", &["anna", "giorgio"])
        .dots("n_l2", &["lucia"])
        .dots("n_l3", &["marco"]);
    ops::set_note_hidden(&mut b.doc, "n_l4", true, Some("fuori tema"), START_MS).unwrap();
    q.insert(url("perche-noi"), b.load());
    let mut b = Board::new();
    b.note(
        "n_l6",
        "giorgio",
        None,
        "Possiamo assumerci la regia dei servizi sanitari di prossimità",
    );
    q.insert(url("nucleo-fondativo"), b.load());
}

fn materia_prima(q: &mut BTreeMap<String, QuestionDoc>) {
    let mut b = Board::new();
    b.note(
        "n_m1",
        "lucia",
        Some("spazi"),
        "La sala della Pro Loco, libera il martedì",
    )
    .note(
        "n_m2",
        "marco",
        Some("competenze"),
        "Educatori con esperienza di lavoro di strada",
    )
    .note(
        "n_m3",
        "anna",
        Some("tradizioni"),
        "La fiera di San Martino",
    )
    .note("n_m4", "zeb", None, "Una rete di volontari anziani")
    .anon(
        "n_m5",
        "giorgio",
        Some("spazi"),
        "Il cortile della scuola media",
    )
    .cluster("c_m1", "Luoghi", &["n_m1"])
    .cluster("c_m2", "Spazi aperti", &["n_m5"])
    .cluster("c_m3", "Da sciogliere", &["n_m2"])
    .dots("c_m2", &["anna"])
    .dots("n_m1", &["ettore", "marco"])
    .dots("n_m3", &["lucia"]);
    ops::merge_clusters(&mut b.doc, "c_m2", "c_m1").unwrap();
    ops::dissolve_cluster(&mut b.doc, "c_m3").unwrap();
    q.insert(url("materia-prima"), b.load());
    let mut b = Board::new();
    b.note(
        "n_m6",
        "ettore",
        Some("relazioni"),
        "Le famiglie che si aiutano già tra vicini",
    )
    .note(
        "n_m7",
        "anna",
        Some("pratiche"),
        "Il doposcuola solidale della parrocchia",
    );
    q.insert(url("dote-sociale"), b.load());
    // The `pratiche` question's document is deliberately missing.
}

fn contributi(q: &mut BTreeMap<String, QuestionDoc>) {
    let mut b = Board::new();
    b.note(
        "n_c1",
        "anna",
        Some("risorsa-spazio"),
        "Una sala del municipio due sere al mese",
    )
    .note(
        "n_c2",
        "anna",
        Some("risorsa-competenze"),
        "Il supporto dell'ufficio progettazione",
    )
    .note(
        "n_c3",
        "marco",
        Some("risorsa-tempo"),
        "Due educatori per 4 ore a settimana",
    )
    .note(
        "n_c4",
        "marco",
        Some("risorsa-spazio"),
        "Il laboratorio di falegnameria",
    )
    .note(
        "n_c5",
        "zeb",
        Some("risorsa-economiche"),
        "1.000 € per i materiali",
    )
    .anon(
        "n_c6",
        "lucia",
        Some("risorsa-tempo"),
        "Cinque volontari per gli eventi",
    )
    .note(
        "n_c7",
        "giorgio",
        Some("risorsa-relazioni"),
        "I contatti con i medici di base",
    )
    .note(
        "n_c8",
        "ettore",
        Some("risorsa-tempo"),
        "Le sere del giovedì per le riunioni",
    );
    q.insert(url("sul-tavolo"), b.load());
    let mut b = Board::new();
    b.note(
        "n_c9",
        "lucia",
        Some("risorsa-attrezzature"),
        "Gazebo e tavoli per le feste",
    )
    .note("n_c10", "zeb", None, "Un furgone, se serve");
    q.insert(url("da-subito"), b.load());
}

fn bisogni(q: &mut BTreeMap<String, QuestionDoc>) {
    let mut b = Board::new();
    b.note(
        "n_b1",
        "lucia",
        Some("fragilita"),
        "Anziani soli nelle frazioni",
    )
    .note(
        "n_b2",
        "marco",
        Some("bisogno"),
        "Trasporto verso i servizi",
    )
    .note(
        "n_b3",
        "anna",
        Some("relazione-mancante"),
        "Un ponte tra scuola e famiglie",
    )
    .cluster("c_b1", "Isolamento", &["n_b1", "n_b2"])
    .dots("c_b1", &["anna", "giorgio", "ettore"])
    .dots("n_b1", &["marco"])
    .dots("n_b3", &["zeb"]);
    q.insert(url("benessere"), b.load());
    let mut b = Board::new();
    b.note(
        "n_b4",
        "giorgio",
        Some("bisogno"),
        "Salute mentale dei giovani",
    )
    .anon(
        "n_b5",
        "ettore",
        Some("fragilita"),
        "Famiglie in difficoltà con l'affitto",
    )
    .dots("n_b4", &["anna", "lucia"])
    .dots("n_b5", &["marco", "zeb", "lucia", "ettore"]);
    q.insert(url("bisogni-non-intercettati"), b.load());
    let mut b = Board::new();
    b.note(
        "n_b6",
        "zeb",
        Some("relazione-mancante"),
        "Tra commercianti e associazioni",
    )
    .dots("n_b6", &["lucia"]);
    ops::set_votes_revealed(&mut b.doc, true).unwrap();
    q.insert(url("relazioni-mancanti"), b.load());
}

fn aspettative(q: &mut BTreeMap<String, QuestionDoc>) {
    let mut b = Board::new();
    b.note(
        "n_a1",
        "anna",
        Some("verso-community"),
        "Che la comunità porti le sue domande al tavolo",
    )
    .note(
        "n_a2",
        "marco",
        Some("verso-public"),
        "Tempi certi per le decisioni",
    )
    .anon(
        "n_a3",
        "lucia",
        Some("verso-social_private"),
        "Ascolto prima di progettare",
    )
    .note("n_a4", "zeb", None, "Fiducia reciproca")
    .note(
        "n_a5",
        "giorgio",
        Some("verso-social_private"),
        "Dati condivisi sui bisogni",
    )
    .dots("n_a2", &["lucia", "ettore"]);
    q.insert(url("aspettative-alleanza"), b.load());
    let mut b = Board::new();
    b.note(
        "n_a6",
        "ettore",
        Some("verso-public"),
        "Un referente stabile in Comune",
    );
    q.insert(url("aspettative-esplicite"), b.load());
}

/// The record of the first meeting, written as a facilitator would from
/// the console while the table talks.
fn write_record(doc: &mut AutoCommit) {
    for (field, value) in [
        (
            MeetingField::Title,
            "Primo incontro del Tavolo di Negoziazione dell'Opificio",
        ),
        (MeetingField::Number, "1"),
        (MeetingField::Date, "2026-03-14"),
        (
            MeetingField::Place,
            "Sala del Consiglio comunale, Santarcangelo di Romagna",
        ),
        (MeetingField::Start, "10:00"),
        (MeetingField::End, "13:30"),
        (
            MeetingField::Responsible,
            "Comune di Santarcangelo di Romagna, Settore Servizi alla persona",
        ),
        (MeetingField::Facilitators, FACILITATORS),
    ] {
        record::set_meeting_field(doc, field, value).unwrap();
    }
    let syntheses = [
        (
            "legittimazione",
            [
                "Il tavolo riconosce nei soggetti presenti un nucleo fondativo credibile per l'Opificio: conoscono il territorio da dentro e hanno già lavorato insieme, per esempio sui centri estivi.\n\nDiversi soggetti si sono detti pronti ad assumersi una responsabilità diretta, anche nella regia dei servizi di prossimità.",
                "Tutti riconoscono il valore delle collaborazioni già avviate e la necessità di metterci la faccia davanti al paese.",
                "Sui tempi dell'allargamento ad altri soggetti: per alcuni va fatto subito, per altri dopo i primi sei mesi di lavoro.",
                "Il tavolo ha deciso di riprendere la questione al secondo incontro, a partire da una proposta scritta dei Servizi alla persona.",
            ],
        ),
        (
            "bisogni",
            [
                "I bisogni più votati sono l'isolamento degli anziani nelle frazioni e le difficoltà delle famiglie con l'affitto. Il tavolo chiede di partire da ciò che oggi nessun servizio intercetta.",
                "- L'isolamento è la priorità condivisa da tutti i settori.\n- Il trasporto verso i servizi fa parte dello stesso problema e va affrontato insieme.",
                "Se la salute mentale dei giovani debba entrare fin da ora tra le priorità del Tavolo o essere affidata a un gruppo di lavoro separato.",
                "Mediata: si costituisce un gruppo di lavoro che riferirà al Tavolo, senza togliere la questione dall'ordine del giorno.",
            ],
        ),
    ];
    for (phase, texts) in syntheses {
        for (field, text) in SynthesisField::ALL.into_iter().zip(texts) {
            record::set_synthesis_field(doc, phase, field, text).unwrap();
        }
    }
    let commitment = |organization: &str,
                      what: &str,
                      by_when: &str,
                      condition: &str,
                      role: &str,
                      note: Option<&str>| {
        CommitmentInput {
            organization: organization.into(),
            what: what.into(),
            by_when: by_when.into(),
            condition: condition.into(),
            contact_role: role.into(),
            from_note: note.map(String::from),
        }
    };
    let commitments = [
        commitment(
            COMMITTED[0],
            "Verificare quali spazi comunali sono liberi nei pomeriggi feriali e comunicarlo al Tavolo",
            "entro il 31 marzo 2026",
            "",
            "Ufficio Patrimonio",
            None,
        ),
        // Made from the pledge "Due educatori per 4 ore a settimana".
        commitment(
            COMMITTED[1],
            "Due educatori per 4 ore a settimana per le attività pomeridiane dell'Opificio",
            "da aprile 2026",
            "Che il Comune confermi l'uso di uno spazio nei pomeriggi feriali",
            "Coordinatrice dell'area educativa",
            Some("n_c3"),
        ),
        commitment(
            COMMITTED[2],
            "Presentare il Tavolo ai medici di base del distretto e raccogliere le loro segnalazioni sugli anziani soli",
            "prima del secondo incontro",
            "Con l'assenso della direzione del distretto",
            "Referente del distretto sanitario",
            None,
        ),
    ];
    for (i, c) in commitments.iter().enumerate() {
        let at = START_MS + 3 * 3_600_000 + i as i64 * 60_000;
        record::put_commitment(doc, &format!("k_{i}"), c, at).unwrap();
    }
    record::set_closing(
        doc,
        ClosingField::NextSteps,
        "Secondo incontro a metà aprile 2026, nella stessa sala.\nEntro due settimane i Servizi alla persona inviano a tutti la proposta scritta sull'allargamento del Tavolo.\n\n- Il gruppo di lavoro sulla salute mentale dei giovani si riunisce per la prima volta entro aprile.\n- Ogni organizzazione conferma per iscritto i propri impegni.",
    )
    .unwrap();
    record::set_closing(
        doc,
        ClosingField::OpenQuestions,
        "- Chi coordina il Tavolo tra un incontro e l'altro?\n- Come coinvolgere le frazioni che oggi non sono rappresentate?\n- Con quali risorse si sostiene l'Opificio dopo il primo anno?",
    )
    .unwrap();
}

pub fn fixture() -> Fixture {
    let mut session_doc = session_doc();
    write_record(&mut session_doc);
    let record = Record::load(&session_doc);
    let session = SessionDoc::load(&session_doc).unwrap();
    let mut questions = BTreeMap::new();
    legittimazione(&mut questions);
    materia_prima(&mut questions);
    contributi(&mut questions);
    bisogni(&mut questions);
    aspettative(&mut questions);
    Fixture {
        session_doc,
        session,
        roster: roster(),
        questions,
        record,
    }
}

/// The session started from the first one: created with what the first
/// meeting left (`record::follow_up_of`, `record::init_previous`), the
/// meeting's data of a follow-up, and the progress the facilitator noted
/// on the carried commitments: the first done, the second in progress with
/// a note, the third not started. No notes were written yet.
pub fn second_meeting() -> Fixture {
    let first = fixture();
    let mut session_doc = session_doc_titled(SECOND_TITLE);
    let prev = record::follow_up_of(&first.record, SECOND_TITLE, &first.roster);
    record::init_previous(&mut session_doc, &prev).unwrap();
    let m = record::follow_up_meeting(&first.record.meeting);
    for (field, value) in [
        (
            MeetingField::Title,
            "Secondo incontro del Tavolo di Negoziazione dell'Opificio",
        ),
        (MeetingField::Number, m.number.as_str()),
        (MeetingField::Date, "2026-04-15"),
        (MeetingField::Place, m.place.as_str()),
        (MeetingField::Start, "17:00"),
        (MeetingField::End, "19:30"),
        (MeetingField::Responsible, m.responsible.as_str()),
        (MeetingField::Facilitators, m.facilitators.as_str()),
    ] {
        record::set_meeting_field(&mut session_doc, field, value).unwrap();
    }
    record::set_carried_progress(&mut session_doc, "c000", CarriedStatus::Done, "").unwrap();
    record::set_carried_progress(
        &mut session_doc,
        "c001",
        CarriedStatus::InProgress,
        PROGRESS_NOTE,
    )
    .unwrap();
    let record = Record::load(&session_doc);
    let session = SessionDoc::load(&session_doc).unwrap();
    Fixture {
        session_doc,
        session,
        roster: first.roster,
        questions: BTreeMap::new(),
        record,
    }
}
