//! Templates: the phases, guiding questions and note categories of a session,
//! as data. A template is a TOML file; [`Template::parse`] validates it and
//! reports problems by what they concern (phase, question, category).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The id of the built-in template every deployment carries.
pub const DEFAULT_TEMPLATE_ID: &str = "tavolo-prima-sessione";

const BUILTIN_SOURCES: &[&str] = &[include_str!("../templates/tavolo-prima-sessione.toml")];

/// A session template, as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Dots each participant may place per question when voting opens.
    #[serde(default = "default_vote_budget")]
    pub vote_budget: u32,
    /// The categories questions may offer; questions refer to them by id.
    #[serde(default)]
    pub categories: Vec<CategoryDef>,
    pub phases: Vec<PhaseDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseDef {
    pub id: String,
    pub title: String,
    /// What the phase is for, shown under its title.
    #[serde(default)]
    pub goal: String,
    pub questions: Vec<QuestionDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    pub id: String,
    pub text: String,
    #[serde(default)]
    pub note_kind: NoteKind,
    /// Ids of entries in [`Template::categories`]; empty when notes carry none.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// What a note on a question stands for; reports group notes by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A free contribution to the discussion.
    #[default]
    Idea,
    /// Something the territory already has (the map of social raw material).
    Resource,
    /// A pledge: what the author's organization puts on the table; the
    /// category is the resource type.
    Pledge,
    /// A need or fragility not yet met.
    Need,
    /// An expectation addressed to a sector; the category names the sector.
    Expectation,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Idea => "idea",
            NoteKind::Resource => "resource",
            NoteKind::Pledge => "pledge",
            NoteKind::Need => "need",
            NoteKind::Expectation => "expectation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            NoteKind::Idea,
            NoteKind::Resource,
            NoteKind::Pledge,
            NoteKind::Need,
            NoteKind::Expectation,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

fn default_vote_budget() -> u32 {
    3
}

/// Why a template was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("template is not valid TOML: {0}")]
    Syntax(String),
    #[error("{0}")]
    Invalid(String),
}

const MAX_VOTE_BUDGET: u32 = 50;

impl Template {
    /// Parses and validates a template from TOML source.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let template: Template =
            toml::from_str(source).map_err(|e| TemplateError::Syntax(e.to_string()))?;
        template.validate()?;
        Ok(template)
    }

    /// Checks what the type system cannot: ids, references, non-empty lists.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let invalid = |m: String| Err(TemplateError::Invalid(m));
        check_id("template id", &self.id)?;
        if self.title.trim().is_empty() {
            return invalid("template title is empty".into());
        }
        if !(1..=MAX_VOTE_BUDGET).contains(&self.vote_budget) {
            return invalid(format!(
                "vote_budget must be between 1 and {MAX_VOTE_BUDGET}, found {}",
                self.vote_budget
            ));
        }
        let mut category_ids = HashSet::new();
        for c in &self.categories {
            check_id("category id", &c.id)?;
            if !category_ids.insert(c.id.as_str()) {
                return invalid(format!("category id \"{}\" is used twice", c.id));
            }
            if c.label.trim().is_empty() {
                return invalid(format!("category \"{}\" has an empty label", c.id));
            }
        }
        if self.phases.is_empty() {
            return invalid("template has no phases".into());
        }
        let mut phase_ids = HashSet::new();
        let mut question_ids = HashSet::new();
        for p in &self.phases {
            check_id("phase id", &p.id)?;
            if !phase_ids.insert(p.id.as_str()) {
                return invalid(format!("phase id \"{}\" is used twice", p.id));
            }
            if p.title.trim().is_empty() {
                return invalid(format!("phase \"{}\" has an empty title", p.id));
            }
            if p.questions.is_empty() {
                return invalid(format!("phase \"{}\" has no questions", p.id));
            }
            for q in &p.questions {
                check_id("question id", &q.id)?;
                if !question_ids.insert(q.id.as_str()) {
                    return invalid(format!("question id \"{}\" is used twice", q.id));
                }
                if q.text.trim().is_empty() {
                    return invalid(format!("question \"{}\" has an empty text", q.id));
                }
                for c in &q.categories {
                    if !category_ids.contains(c.as_str()) {
                        return invalid(format!(
                            "question \"{}\" names unknown category \"{c}\"",
                            q.id
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The category definitions a question offers, in its order.
    pub fn question_categories<'a>(&'a self, q: &'a QuestionDef) -> Vec<&'a CategoryDef> {
        q.categories
            .iter()
            .filter_map(|id| self.categories.iter().find(|c| &c.id == id))
            .collect()
    }

    /// The built-in templates, parsed.
    pub fn builtins() -> Vec<Template> {
        BUILTIN_SOURCES
            .iter()
            .map(|src| Template::parse(src).expect("built-in templates are valid (tested)"))
            .collect()
    }

    /// A built-in template by id.
    pub fn builtin(id: &str) -> Option<Template> {
        Self::builtins().into_iter().find(|t| t.id == id)
    }
}

fn check_id(what: &str, id: &str) -> Result<(), TemplateError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(TemplateError::Invalid(format!(
            "{what} \"{id}\" must be 1–64 characters of a-z, 0-9, '-' or '_'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's guiding questions, verbatim: the template must carry all of them.
    const SEED_QUESTIONS: &[&str] = &[
        "Perché proprio noi dovremmo essere i primi a scommettere sull'Opificio?",
        "Quale è la 'materia prima' sociale che Santarcangelo può mettere a disposizione dell'Opificio (tradizioni, competenze, relazioni già esistenti)?",
        "Cosa possiamo mettere concretamente sul tavolo per farlo partire?",
        "Cosa serve al nostro territorio per produrre benessere insieme?",
        "Quali sono le nostre aspettative reciproche in questa alleanza?",
        "Quali pratiche di collaborazione, cura e mutuo aiuto sono già presenti nel nostro territorio e meritano di essere rese visibili, strategiche e continuative?",
        "Perché proprio noi possiamo essere il nucleo fondativo di questo cambiamento? Qual è la responsabilità che possiamo assumerci?",
        "Qual è la “dote sociale” che Santarcangelo già possiede e può mettere a disposizione dell’Opificio (relazioni, tradizioni, spazi, competenze diffuse)?",
        "Cosa possiamo attivare concretamente da subito per avviare il processo?",
        "Quali bisogni oggi non intercettati possono trovare risposta attraverso forme nuove di alleanza tra pubblico, privato sociale e comunità?",
        "Quali relazioni oggi mancano e andrebbero generate per tessere un benessere realmente condiviso e anticipatorio?",
        "Quali aspettative reciproche vogliamo esplicitare fin da subito per rendere l’alleanza solida, trasparente e generativa?",
    ];

    #[test]
    fn builtin_template_carries_the_seeds_five_phases_and_every_question() {
        let t = Template::builtin(DEFAULT_TEMPLATE_ID).expect("built-in exists");
        let phases: Vec<_> = t.phases.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            phases,
            [
                "Legittimazione reciproca",
                "Materia prima e dote sociale",
                "Contributi",
                "Bisogni",
                "Aspettative reciproche"
            ]
        );
        let texts: Vec<_> = t
            .phases
            .iter()
            .flat_map(|p| p.questions.iter().map(|q| q.text.as_str()))
            .collect();
        for q in SEED_QUESTIONS {
            assert!(texts.contains(q), "missing guiding question: {q}");
        }
        assert_eq!(texts.len(), SEED_QUESTIONS.len());
    }

    #[test]
    fn builtin_template_names_the_design_categories() {
        let t = Template::builtin(DEFAULT_TEMPLATE_ID).expect("built-in exists");
        let map = &t.phases[1].questions[0];
        assert_eq!(
            map.categories,
            ["competenze", "spazi", "tradizioni", "relazioni", "pratiche"]
        );
        let pledges = &t.phases[2].questions[0];
        assert_eq!(pledges.note_kind, NoteKind::Pledge);
        let labels: Vec<_> = t
            .question_categories(pledges)
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "Spazio",
                "Competenze",
                "Tempo / volontari",
                "Attrezzature",
                "Relazioni",
                "Risorse economiche"
            ]
        );
        let expectations = &t.phases[4].questions[0];
        assert_eq!(expectations.note_kind, NoteKind::Expectation);
        assert_eq!(expectations.categories.len(), 3);
    }

    fn minimal() -> String {
        r#"
id = "t"
title = "T"
[[categories]]
id = "a"
label = "A"
[[phases]]
id = "p1"
title = "Uno"
[[phases.questions]]
id = "q1"
text = "Domanda?"
categories = ["a"]
"#
        .to_string()
    }

    #[test]
    fn minimal_template_parses() {
        let t = Template::parse(&minimal()).expect("valid");
        assert_eq!(t.vote_budget, 3);
        assert_eq!(t.phases[0].questions[0].note_kind, NoteKind::Idea);
    }

    #[test]
    fn invalid_templates_are_refused_with_the_problem_named() {
        let unknown = minimal().replace("categories = [\"a\"]", "categories = [\"b\"]");
        assert_eq!(
            Template::parse(&unknown).unwrap_err().to_string(),
            "question \"q1\" names unknown category \"b\""
        );
        let dup = format!(
            "{}\n[[phases]]\nid = \"p1\"\ntitle = \"Due\"\n[[phases.questions]]\nid = \"q2\"\ntext = \"?\"\n",
            minimal()
        );
        assert_eq!(
            Template::parse(&dup).unwrap_err().to_string(),
            "phase id \"p1\" is used twice"
        );
        let no_phases = "id = \"t\"\ntitle = \"T\"\nphases = []\n";
        assert_eq!(
            Template::parse(no_phases).unwrap_err().to_string(),
            "template has no phases"
        );
        let syntax = Template::parse("id = ").unwrap_err();
        assert!(
            matches!(syntax, TemplateError::Syntax(ref m) if m.contains("line 1")),
            "{syntax}"
        );
    }
}
