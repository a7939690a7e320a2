"""Row ids (`<form>/<file stem>`) of the Kaggle poems-by-form corpus that the English filter must
keep or reject, found by reading every poem that the earlier filter (mode share+evidence) rejected.

MODERN_ENGLISH: the modern-English poems that filter rejected (issue 18): 17 acrostics whose
letters are split off the words ("C-ouplet", "A nother"), three poems of two to four words, one
double dactyl filed under two forms, two English poems with a foreign epigraph or refrain.
SHORT_FOR_THE_SECOND_OPINION: a four-word poem with a title that the lexicon kept and py3langid, asked
about it by mode langid, called Latin. With MODERN_ENGLISH, the 25 poems issue 18 wants kept.

TRANSLATION_PAIRS: poems printed with their translation (or their original) in another language.
Latin-script pairs, which only the lexicon and the second opinion can tell apart, and pairs whose
other half is in another script (Chinese, Greek, Vietnamese with diacritics, ...).
"""

ACROSTICS = [
    "abc/AbcPoemsACcumulativeDIsplayCReativeDIsplayAbcPoemPoembyKimvanBreda",
    "allegory/AllegoryPoemsFictionalAllegoryPoembyBernardFAsuncion",
    "couplet/CoupletPoemsCoupletOdePoembyBernardFAsuncion",
    "couplet/CoupletPoemsCoupletRhymePoembyBernardFAsuncion",
    "epic/EpicPoemsEpicDelightPoembyBernardFAsuncion",
    "epic/EpicPoemsEpicFormPoembyBernardFAsuncion",
    "epic/EpicPoemsTerrificEpicLinePoembyBernardFAsuncion",
    "epistle/EpistlePoemsRighteousEpistlePoembyBernardFAsuncion",
    "glosa/GlosaPoemsInkNobleGlosaPoembyBernardFAsuncion",
    "imagery/ImageryPoemsRadiantImageryPoembyBernardFAsuncion",
    "kennings/KenningsPoemsKenningsRhymePoembyBernardFAsuncion",
    "lyric/LyricPoemsAsLyricEasesYouPoembyBernardFAsuncion",
    "lyric/LyricPoemsAsLyricIsDesignedPoembyBernardFAsuncion",
    "lyric/LyricPoemsGreatLyricPoembyBernardFAsuncion",
    "lyric/LyricPoemsLyricOfVersePoembyBernardFAsuncion",
    "nonet/NonetPoemsAcrosticNonetPoembyBernardFAsuncion",
    "tetractys/TetractysPoemsCreatingAcrosticTetractysPoembyBernardFAsuncion",
]
VERY_SHORT = [
    "anagram/AnagramPoemsADamnGoodPoetsAnagramPoembyShaunCronick",
    "haiku/HaikuPoemsSimpleHaikuEarthDayThreeWordsPoembyChuckAudette",
    "haiku/HaikuPoemsSimpleHaikuMyopicMathSkillsThreeWordsPoembyChuckAudette",
]
DOUBLE_DACTYL = [
    "dactyl/DactylPoemsDoubleDactylInMindPoembyMuzahidulReza",
    "double-dactyl/DoubledactylPoemsDoubleDactylInMindPoembyMuzahidulReza",
]
EPIGRAPH_OR_REFRAIN = [
    "epitaph/EpitaphPoemsACrossRoadEpitaphPoembyAmyLevy",
    "ghazal/GhazalPoemsEnPleinAirSurTerreGhazalPoembyBenGieske",
]
MODERN_ENGLISH = ACROSTICS + VERY_SHORT + DOUBLE_DACTYL + EPIGRAPH_OR_REFRAIN
SHORT_FOR_THE_SECOND_OPINION = ["allegory/AllegoryPoemsTheAllegory31PoembyMuzahidulReza"]  # "Ant labor..."
KEPT_MODERN_ENGLISH = MODERN_ENGLISH + SHORT_FOR_THE_SECOND_OPINION

LATIN_SCRIPT_PAIRS = [
    "acrostic/AcrosticPoemsButterflyAcrosticTranslationAlphonseDeLamartineLePapillonPoembyJonathanROBIN",
    "acrostic/AcrosticPoemsElizabethanOdeFrenchAndEnglishAlliterationAcrosticPoembyJonathanROBIN",
    "acrostic/AcrosticPoemsHarmonieDuSoirAcrosticTranslationCharlesBaudelaireLesFleursDuMalXviiPoembyJonathanROBIN",
    "ars-poetica/ArspoeticaPoemsArsPoeticaByAracelisGirmayInHindiUrduTranslationPoembyRaviKopra",
    "ars-poetica/ArspoeticaPoemsArsPoeticaCocoonsbyDanaLevinInHindiUrduTranslationPoembyRaviKopra",
    "ars-poetica/ArspoeticaPoemsEveningFlightArsPoetica2ByGabrielChávezCasazolaTranslatedIntoHindiUrduPoembyRaviKopra",
    "bio/BioPoemsIfIWereYoungAgainKadBihOpetBioMladPoembyJankovicZoran",
    "bio/BioPoemsLikeHeWasLoveHeIsKaoOnStoBioJeLjubavJeOnPoembyMiroslavaOdalovic",
    "bio/BioPoemsToTheBioBioAlBiobíoPoembyAndresBello",
    "carol/CarolPoemsCarolPoembyMishkaAllport",
    "couplet/CoupletPoemsACoupletOfAmirKhusroTranslationPoembySunilUniyal",
    "epigram/EpigramPoemsTheophileBeingDenyDHisAddressesToKingJamesTurnedTheAffrontToHisOwnGloryInThisEpigramPoembyRichardLovelace",
    "found-poem/FoundpoemPoemsJohnKeatsLoveLetterToFannyBrawneAFoundPoemInHindiUrduTranslationPoembyRaviKopra",
    "ghazal/GhazalPoemsAHindiGhazal1PoembySunilUniyal",
    "ghazal/GhazalPoemsAHindiGhazal2PoembySunilUniyal",
    "ghazal/GhazalPoemso10BilingualEkChhotiGhazalASmallGhazalPoembyRenuRakhejaakaTranquilOcean",
    "italian-sonnet/ItaliansonnetPoemsOnPretoriaItalianSonnetPoembyGertStrydom",
    "landays/LandaysPoemsALovePoemInAfghanistaniLandaysInHindiUrduTranslationPoembyRaviKopra",
    "lay/LayPoemsUneNuitQueJÉtaisPrèsDUneAffreuseJuiveOnNightILayWithAFrightfulJewessPoembyCharlesBaudelaire",
    "ode/OdePoemsOdeToMarieAnneCharlotteCordayPoembyAndreMariedeChenier",
    "qasida/QasidaPoemsCasidaDeLaRosaQasidaOfTheRoseCasidaTrandafiruluiCasidaDeLaRosePoembyMariaMagdalenaBiela",
    "quatrain/QuatrainPoemsQuatrain1693FarsiWithEnglishTranslationPoembyMewlanaJalaluddinRumi",
    "quatrain/QuatrainPoemsThereAreAHundredKindsOfPrayerQuatrainInFarsiWithEnglishTranslationPoembyMewlanaJalaluddinRumi",
    "riddle/RiddlePoemsMotherTongueWrungMothRiddleExeterBook970ADPoembyJonathanROBIN",
    "shi/ShiPoemsMeinNadiKeKinareKhadaHuyaEkBahutChhotiShiNadiBilingualHindiToEnglishPoembyBijayKantDubey",
    "shi/ShiPoemsUdatinChidiyaPyariShiChidiyaNanhiShiChidiyaFlyingBirdLovelyBirdBmallBirdPoembyBijayKantDubey",
    "verse/VersePoemsIHaveAWhiteRoseToTendVerseXxxixPoembyJoseMarti",
    "verse/VersePoemsIWhoLiveThoughIHaveDiedVerseXxviPoembyJoseMarti",
    "lyric/LyricPoemsMyMotherEnglishLyricByNhienNguyenMdForTheVietnameseSongOfNhiHaMeTôiPoembyNHIENNGUYENMD",
    "lyric/LyricPoemsSongWithoutTitle5EnglishLyricTranslationOfTheVietnameseSongOfVuThaNhAnBaIKhôngTênSôNămPoembyNHIENNGUYENMD",
    "couplet/CoupletPoemsALoveCoupletPoembyNHIENNGUYENMD",
]
OTHER_SCRIPT_PAIRS = [
    "carol/CarolPoemsChristmasCarolPoembyLuoZhihai",
    "dirge/DirgePoemsADirgePoembyLuoZhihai",
    "dirge/DirgePoemsTheDirgeOnMyNiecePoembyLuoZhihai",
    "epigram/EpigramPoemsEpigramMacabreΕπίγραμμαΜακάβριοPoembyKostasLagos",
    "epigram/EpigramPoemsJestersEpigramΓελωτοποιούΕπίγραμμαPoembyKostasLagos",
    "free-verse/FreeversePoemsTheFreeVersePoembyLuoZhihai",
    "monoku/MonokuPoemsVacuumOfCosmosΚενόΤουΚόσμουMonokuPoembyKostasLagos",
    "quatrain/QuatrainPoemsRhymeOfQuatrainTwoPairsOfCoupletsPoembyLuoZhihai",
    "quatrain/QuatrainPoemsWhitePeonySevenWordsOfQuatrainPoembyLuoZhihai",
    "quatrain/QuatrainPoemsWritingAnInscriptionOnLongmenTempleFiveWordsOfQuatrainPoembyLuoZhihai",
    "shi/ShiPoemsEndlessGriefPoetryWorshippingYaoDuanShiOfLiMotherPoembyLuoZhihai",
    "shi/ShiPoemsRespondWithAPoemToElderShiSevenJuePoembyLuoZhihai",
    "shi/ShiPoemsThreePyramidPoemsbǎoTǎShīPoembyPerditaYoung",
]
TRANSLATION_PAIRS = LATIN_SCRIPT_PAIRS + OTHER_SCRIPT_PAIRS

# Middle and Early Modern English (kept only with archaic=True / --archaic-english), and Old English.
ARCHAIC = [
    "abc/AbcPoemsAnAbcPoembyGeoffreyChaucer",
    "eclogue/EcloguePoemsEclogueTheFirstPoembyThomasChatterton",
    "eclogue/EcloguePoemsEclogueTheSecondPoembyThomasChatterton",
    "eclogue/EcloguePoemsEclogueTheThirdPoembyThomasChatterton",
    "epitaph/EpitaphPoemsEpitaphOnRobertCanyngePoembyThomasChatterton",
    "conceit/ConceitPoemsTheShepherdsConceitOfPrometheusPoembySirEdwardDyer",
    "lament/LamentPoemsLamentForChaucerPoembyThomasHoccleve",
    "ballad/BalladPoemsABalladOfTheScottsyssheKynePoembyJohnSkelton",
    "lay/LayPoemsAdamLayIboundenPoembyAnonymousOldeEnglish",
]
OLD_ENGLISH = ["hymn/HymnPoemsCaedmonsHymnPoembyCaedmon"]
