//! What the demo data says, in each of the consortium's eight languages.
//!
//! A phrasebook holds `|`-separated lists. Any subject goes with any
//! predicate and any ending (all third person singular), so sentences read
//! naturally however they are drawn; titles are a method plus a group.

/// One language's phrases, each list separated by `|`.
pub(super) struct Phrasebook {
    /// ISO 639-1 code.
    pub code: &'static str,
    /// Methods, the start of a title ("Family mediation").
    pub methods: &'static str,
    /// Who or where a method is for, the end of a title ("after prison").
    pub groups: &'static str,
    /// Sentence subjects.
    pub subjects: &'static str,
    /// Verb phrases agreeing with every subject.
    pub predicates: &'static str,
    /// Sentence endings.
    pub endings: &'static str,
    /// Section headings: context, approach, steps, results, lessons, resources.
    pub headings: &'static str,
    /// Event formats, in `EventFormat` order: workshop, webinar, course,
    /// study visit, conference, peer exchange.
    pub formats: &'static str,
    /// Rooms where in-person sessions take place.
    pub venues: &'static str,
    /// Between an event's format and its topic (French sets a space before a colon).
    pub colon: &'static str,
}

/// The language codes, organisations' languages first.
pub(super) const LANGUAGES: [&str; 8] = ["fr", "pt", "it", "sq", "sv", "bg", "hu", "en"];

pub(super) fn phrasebook(code: &str) -> &'static Phrasebook {
    BOOKS
        .iter()
        .find(|b| b.code == code)
        .unwrap_or_else(|| panic!("no phrasebook for {code:?}"))
}

const BOOKS: [Phrasebook; 8] = [
    Phrasebook {
        code: "fr",
        methods: "Accompagnement individuel|Médiation familiale|Mentorat par les pairs|\
            Repérage des signes de radicalisation|Ateliers de dialogue|Programme de désengagement|\
            Soutien à la réinsertion|Cercles de parole|Formation des professionnels|\
            Évaluation partagée du risque",
        groups: "des personnes sortant de prison|des jeunes en situation de risque|\
            des familles de détenus|en milieu ouvert|avec les conseillers de probation|\
            dans les quartiers prioritaires|pour les éducateurs de rue|avant et après la libération|\
            avec la communauté locale|en détention",
        subjects: "L'équipe|Le mentor|Chaque famille|Le conseiller de probation|\
            La personne accompagnée|Le réseau local|L'éducateur spécialisé|Un binôme de praticiens|\
            La médiatrice|Le groupe de pairs",
        predicates: "rencontre la personne chaque semaine|construit un lien de confiance|\
            prépare la sortie avec le service pénitentiaire|oriente vers un logement et un emploi|\
            associe la famille aux décisions|repère les signaux d'alerte sans stigmatiser|\
            anime un espace de dialogue|renforce la résilience de la communauté|\
            documente chaque étape du parcours|partage l'évaluation du risque avec les partenaires|\
            soutient la réinsertion professionnelle|propose un suivi après la prison|\
            travaille avec les écoles et les associations|respecte la confidentialité des échanges",
        endings: "dès les premiers mois|pendant au moins six mois|dans un lieu neutre|\
            avec l'accord de la personne|en lien avec la famille et la communauté|\
            selon un protocole écrit|sans jugement|avant la libération|à chaque étape|\
            en s'appuyant sur la confiance",
        headings: "Contexte|Démarche|Étapes|Résultats|Enseignements|Ressources",
        formats: "Atelier|Webinaire|Formation|Visite d'étude|Conférence|Échange entre pairs",
        venues: "Salle de formation|Maison des associations|Centre social",
        colon: " : ",
    },
    Phrasebook {
        code: "pt",
        methods: "Mentoria individual|Mediação familiar|Reinserção social|Apoio à reinserção|\
            Triagem de risco|Círculos de diálogo|Programa de desvinculação|Formação de técnicos|\
            Acompanhamento pós-libertação|Intervenção em meio prisional",
        groups: "após a prisão|de jovens em risco|com a família|de pessoas libertadas da prisão|\
            em liberdade condicional|na comunidade local|para técnicos de reinserção|\
            antes da libertação|em contexto prisional|com as escolas",
        subjects: "A equipa|O mentor|Cada família|O técnico de reinserção|A pessoa acompanhada|\
            A rede local|O educador|A mediadora|O grupo de pares|A direção da prisão",
        predicates: "encontra a pessoa todas as semanas|constrói uma relação de confiança|\
            prepara a saída da prisão com os serviços prisionais|encaminha para habitação e emprego|\
            envolve a família nas decisões|identifica sinais de alerta sem estigmatizar|\
            dinamiza um espaço de diálogo|reforça a resiliência da comunidade|\
            regista cada etapa do percurso|partilha a avaliação de risco com os parceiros|\
            apoia a reinserção profissional|acompanha a família durante a reinserção|\
            trabalha com escolas e associações|respeita a confidencialidade",
        endings: "desde os primeiros meses|durante pelo menos seis meses|num espaço neutro|\
            com o acordo da pessoa|em ligação com a família e a comunidade|\
            segundo um protocolo escrito|sem julgamento|antes da libertação|em cada etapa|\
            depois da prisão",
        headings: "Contexto|Abordagem|Etapas|Resultados|Lições aprendidas|Recursos",
        formats: "Oficina|Webinar|Curso|Visita de estudo|Conferência|Intercâmbio entre pares",
        venues: "Sala de formação|Centro comunitário|Auditório",
        colon: ": ",
    },
    Phrasebook {
        code: "it",
        methods: "Tutoraggio individuale|Mediazione familiare|Reinserimento sociale|\
            Valutazione del rischio|Cerchi di dialogo|Percorsi di disimpegno|\
            Formazione degli operatori|Sostegno dopo la scarcerazione|Giustizia riparativa|\
            Lavoro di rete",
        groups: "per persone detenute|dei giovani a rischio|con le famiglie|dopo il carcere|\
            in misura alternativa|nella comunità locale|per operatori penitenziari|\
            prima della scarcerazione|con le scuole|sul territorio",
        subjects: "Il gruppo di lavoro|Il tutor|Ogni famiglia|L'assistente sociale|\
            La persona seguita|La rete territoriale|L'educatore|La mediatrice|Il gruppo dei pari|\
            La direzione del carcere",
        predicates: "incontra la persona ogni settimana|costruisce un rapporto di fiducia|\
            prepara l'uscita dal carcere con l'amministrazione penitenziaria|\
            orienta verso casa e lavoro|coinvolge la famiglia nelle decisioni|\
            riconosce i segnali di allarme senza stigmatizzare|anima uno spazio di dialogo|\
            rafforza la resilienza della comunità|documenta ogni fase del percorso|\
            condivide la valutazione del rischio con i partner|sostiene il reinserimento lavorativo|\
            collabora con scuole e associazioni|rispetta la riservatezza",
        endings: "fin dai primi mesi|per almeno sei mesi|in un luogo neutro|\
            con il consenso della persona|insieme alla famiglia e alla comunità|\
            secondo un protocollo scritto|senza giudizio|prima della scarcerazione|in ogni fase|\
            anche dopo la detenzione",
        headings: "Contesto|Approccio|Fasi|Risultati|Lezioni apprese|Risorse",
        formats: "Laboratorio|Webinar|Corso|Visita di studio|Convegno|Scambio tra pari",
        venues: "Aula di formazione|Casa delle associazioni|Centro civico",
        colon: ": ",
    },
    Phrasebook {
        code: "sq",
        methods: "Mentorim individual|Ndërmjetësim familjar|Riintegrim shoqëror|\
            Vlerësim i rrezikut|Rrathë dialogu|Program shkëputjeje|Trajnim për punonjësit|\
            Mbështetje pas lirimit|Parandalim i ekstremizmit të dhunshëm|\
            Bashkëpunim ndërinstitucional",
        groups: "për të liruarit nga burgu|për të rinjtë në rrezik|me familjet|pas burgut|\
            në shërbimin sprovues|në komunitetin lokal|për punonjësit e burgut|para lirimit|\
            me shkollat|në Kosovë dhe Shqipëri",
        subjects: "Ekipi|Mentori|Çdo familje|Punonjësi i shërbimit sprovues|Personi i mbështetur|\
            Rrjeti lokal|Edukatori|Ndërmjetësja|Grupi i bashkëmoshatarëve|Drejtoria e burgut",
        predicates: "takon personin çdo javë|ndërton një marrëdhënie besimi|\
            përgatit lirimin bashkë me shërbimin e burgjeve|orienton drejt strehimit dhe punësimit|\
            përfshin familjen në vendime|dallon shenjat e rrezikut pa stigmatizuar|\
            drejton një hapësirë dialogu|forcon qëndrueshmërinë e komunitetit|\
            dokumenton çdo hap të procesit|ndan vlerësimin e rrezikut me partnerët|\
            mbështet riintegrimin në punë|bashkëpunon me shkollat dhe shoqatat|\
            respekton konfidencialitetin",
        endings: "që në muajt e parë|për të paktën gjashtë muaj|në një vend neutral|\
            me pëlqimin e personit|së bashku me familjen dhe komunitetin|\
            sipas një protokolli të shkruar|pa paragjykime|para lirimit|në çdo hap|\
            edhe pas burgut",
        headings: "Konteksti|Qasja|Hapat|Rezultatet|Mësimet e nxjerra|Burime",
        formats: "Punëtori|Webinar|Kurs|Vizitë studimore|Konferencë|Shkëmbim përvojash",
        venues: "Salla e trajnimit|Qendra komunitare|Zyra e organizatës",
        colon: ": ",
    },
    Phrasebook {
        code: "sv",
        methods: "Individuellt mentorskap|Familjemedling|Stöd vid frigivning|Riskbedömning|\
            Dialoggrupper|Avhopparverksamhet|Utbildning för yrkesverksamma|\
            Återanpassning efter fängelse|Samverkan mellan myndigheter|Förebyggande arbete",
        groups: "för frigivna|för unga i riskzonen|med anhöriga|efter fängelset|inom frivården|\
            i lokalsamhället|för kriminalvårdare|före frigivningen|med skolan|i förorten",
        subjects: "Teamet|Mentorn|Varje familj|Frivårdsinspektören|Deltagaren|\
            Det lokala nätverket|Fältassistenten|Medlaren|Kamratgruppen|Anstaltsledningen",
        predicates: "träffar deltagaren varje vecka|bygger upp ett förtroende|\
            förbereder frigivningen tillsammans med Kriminalvården|\
            slussar vidare till bostad och arbete|involverar familjen i besluten|\
            upptäcker varningssignaler utan att stigmatisera|leder samtal i grupp|\
            stärker lokalsamhällets motståndskraft|dokumenterar varje steg|\
            delar riskbedömningen med samverkanspartner|stöttar återgången till arbetslivet|\
            samarbetar med skolor och föreningar|värnar om sekretessen",
        endings: "redan under de första månaderna|i minst sex månader|på en neutral plats|\
            med deltagarens samtycke|tillsammans med familj och närsamhälle|\
            enligt en skriftlig rutin|utan att döma|före frigivningen|i varje steg|\
            även efter fängelset",
        headings: "Bakgrund|Arbetssätt|Steg för steg|Resultat|Lärdomar|Resurser",
        formats: "Workshop|Webbinarium|Kurs|Studiebesök|Konferens|Erfarenhetsutbyte",
        venues: "Utbildningslokal|Föreningshus|Medborgarhus",
        colon: ": ",
    },
    Phrasebook {
        code: "bg",
        methods: "Индивидуално наставничество|Семейна медиация|Подкрепа за реинтеграция|\
            Оценка на риска|Кръгове за диалог|Програма за дистанциране от екстремизма|\
            Обучение на специалисти|Подкрепа след освобождаване от затвора|\
            Междуинституционално сътрудничество|Превенция на радикализацията",
        groups: "за освободени от затвора|за младежи в риск|със семействата|след затвора|\
            в пробационна служба|в местната общност|за служители в затвора|преди освобождаването|\
            с училищата|в малките населени места",
        subjects: "Екипът|Наставникът|Всяко семейство|Пробационният служител|Подкрепяният човек|\
            Местната мрежа|Социалният работник|Медиаторката|Групата от връстници|\
            Ръководството на затвора",
        predicates: "се среща с човека всяка седмица|изгражда отношения на доверие|\
            подготвя освобождаването заедно със затвора|насочва към жилище и работа|\
            включва семейството в решенията|разпознава рисковите сигнали, без да стигматизира|\
            води пространство за диалог|укрепва устойчивостта на общността|\
            документира всяка стъпка|споделя оценката на риска с партньорите|\
            подкрепя връщането към трудова заетост|работи с училища и организации|\
            пази поверителността",
        endings: "още през първите месеци|поне шест месеца|на неутрално място|\
            със съгласието на човека|заедно със семейството и общността|според писмен протокол|\
            без осъждане|преди освобождаването от затвора|на всяка стъпка|и след затвора",
        headings: "Контекст|Подход|Стъпки|Резултати|Поуки|Ресурси",
        formats: "Работилница|Уебинар|Курс|Учебно посещение|Конференция|Обмяна на опит",
        venues: "Зала за обучения|Общностен център|Читалище",
        colon: ": ",
    },
    Phrasebook {
        code: "hu",
        methods: "Egyéni mentorálás|Családi mediáció|Visszailleszkedés támogatása|\
            Kockázatfelmérés|Párbeszédkörök|Kiszállást segítő program|Szakemberek képzése|\
            Szabadulás utáni támogatás|Intézmények közötti együttműködés|\
            Az erőszakos szélsőségesség megelőzése",
        groups: "szabadultak számára|veszélyeztetett fiataloknak|a családok bevonásával|\
            a börtön után|a pártfogó felügyeletben|a helyi közösségben|börtönszemélyzet számára|\
            a szabadulás előtt|iskolákkal együtt|kistelepüléseken",
        subjects: "A csapat|A mentor|Minden család|A pártfogó felügyelő|A támogatott személy|\
            A helyi hálózat|Az ifjúsági segítő|A mediátor|A kortárscsoport|A börtön vezetése",
        predicates: "hetente találkozik az érintettel|bizalmi kapcsolatot épít|\
            a büntetés-végrehajtással közösen készíti elő a szabadulást|\
            lakhatáshoz és munkához segít|bevonja a családot a döntésekbe|\
            stigmatizálás nélkül ismeri fel a figyelmeztető jeleket|párbeszédet vezet a csoportban|\
            erősíti a közösség rezilienciáját|minden lépést dokumentál|\
            megosztja a kockázatfelmérést a partnerekkel|segíti a munkába való visszatérést|\
            iskolákkal és civil szervezetekkel dolgozik|tiszteletben tartja a titoktartást",
        endings: "már az első hónapokban|legalább hat hónapig|semleges helyszínen|\
            az érintett beleegyezésével|a családdal és a közösséggel együtt|\
            írásos protokoll szerint|ítélkezés nélkül|a szabadulás előtt|minden lépésnél|\
            a börtön után is",
        headings: "Háttér|Megközelítés|Lépések|Eredmények|Tanulságok|Források",
        formats: "Műhelymunka|Webinárium|Tanfolyam|Tanulmányút|Konferencia|Tapasztalatcsere",
        venues: "Képzési terem|Közösségi ház|Művelődési ház",
        colon: ": ",
    },
    Phrasebook {
        code: "en",
        methods: "One-to-one mentoring|Family mediation|Risk screening|Post-release support|\
            Dialogue circles|Exit programme|Training for practitioners|\
            Multi-agency case conferences|Community resilience work|Restorative justice",
        groups: "for people leaving prison|for young people at risk|with families|\
            after release from prison|in probation|in the local community|for prison staff|\
            before release|with schools|in rural areas",
        subjects: "The team|The mentor|Each family|The probation officer|The participant|\
            The local network|The youth worker|The mediator|The peer group|The prison management",
        predicates: "meets the participant every week|builds a relationship of trust|\
            prepares release together with the prison service|refers to housing and employment|\
            involves the family in decisions|spots warning signs without stigmatising|\
            hosts a space for dialogue|strengthens community resilience|documents every step|\
            shares the risk screening with partners|supports the return to work|\
            works with schools and associations|respects confidentiality",
        endings: "from the first months|for at least six months|in a neutral place|\
            with the participant's consent|together with family and community|\
            following a written protocol|without judgement|before release|at every step|\
            after prison too",
        headings: "Context|Approach|Steps|Results|Lessons learnt|Resources",
        formats: "Workshop|Webinar|Course|Study visit|Conference|Peer exchange",
        venues: "Training room|Community centre|Conference hall",
        colon: ": ",
    },
];
