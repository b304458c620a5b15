"""The demo's vocabulary: places, street and building words, names, phone ranges, code sets, survey
questions and the call script. Pure data and the small helpers that draw from it.

Street names hold only letters and single spaces, so that a binary (SQLite) and a linguistic
(PostgreSQL) collation order them alike and elector numbers follow the walk order on both.
"""
from __future__ import annotations

import random

from server.models import OutcomeMeaning, QuestionKind

REGIONS = (
    ("E12000002", "North West", (
        ("Calderbrook and Hatton", ("Calderbrook", "Hatton")),
        ("Ashworth Vale", ("Ashworth",)),
        ("Millbridge", ("Millbridge",)),
        ("Rushton and Denby Moor", ("Rushton", "Denby Moor")),
    )),
    ("E12000005", "West Midlands", (
        ("Kingsford", ("Kingsford",)),
        ("Hollins Green and Bramwell", ("Hollins Green", "Bramwell")),
        ("Alderley Cross", ("Alderley Cross",)),
        ("Fenwick Lees", ("Fenwick", "Lees")),
    )),
)
# Postcode areas that do not exist in the UK but have a valid shape, so no demo address is real.
POSTCODE_AREAS = ("EF", "FW", "GD", "HB")
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in the inward code

WARD_NAMES = (
    "Abbey", "Castle", "Priory", "Riverside", "Park", "Hillside", "Central", "Northfield", "Southgate",
    "Westfield", "Eastfield", "Moorside", "Brookside", "Greenway", "Oakwood", "Market", "Old Town",
    "Meadowbank", "Canal", "Heath", "Chapel", "Grange", "Harbour", "St Marys",
)
DISTRICT_SUFFIXES = ("North", "South", "East", "West", "Central")

STREET_WORDS = (
    "Church", "Mill", "Station", "Victoria", "Albert", "Park", "Queens", "Kings", "Grange", "Oak", "Elm",
    "Beech", "Willow", "Chestnut", "Meadow", "Orchard", "Manor", "School", "Chapel", "Castle", "Bridge",
    "Brook", "Green", "Hill", "North", "South", "West", "East", "New", "High", "Market", "Clarence",
    "Windsor", "York", "Lancaster", "Stanley", "Derby", "Gladstone", "Nelson", "Wellington", "Trafalgar",
    "Balmoral", "Richmond", "Cavendish", "Grosvenor", "Devonshire", "Cromwell", "Milton", "Byron",
    "Tennyson", "Wordsworth", "Hawthorn", "Holly", "Laburnum", "Lilac", "Rowan", "Sycamore", "Ash",
    "Birch", "Cedar", "Maple", "Poplar", "Larch", "Hazel", "Heather", "Primrose", "Bluebell", "Foxglove",
    "Lavender", "Thornfield", "Ashfield", "Broadway", "Fairfield", "Highfield", "Springfield", "Greenfield",
    "Moorland", "Riverside", "Canal", "Hollybank", "Lindale", "Kingsway", "Ferndale", "Rosedale", "Belmont",
    "Mayfield", "Linden", "Hartley", "Ashby", "Carlton", "Dalton", "Fulwood", "Mosley", "Ryecroft",
)
STREET_KINDS = (
    ("Road", 5), ("Street", 5), ("Lane", 3), ("Avenue", 3), ("Close", 3), ("Crescent", 2), ("Drive", 2),
    ("Gardens", 2), ("Grove", 2), ("Way", 2), ("Terrace", 2), ("Place", 1), ("View", 1), ("Rise", 1),
    ("Walk", 1), ("Mews", 1), ("Row", 1),
)
BUILDING_WORDS = (
    "Victoria", "Albert", "Jubilee", "Coronation", "Regent", "Carlton", "Kingsley", "Hanover", "Belgrave",
    "Chatsworth", "Ashdown", "Beaumont", "Clifton", "Harrington", "Ellesmere", "Peel", "Rutland",
    "Sandringham", "Waverley", "Lowther", "Mercer", "Brunel", "Telford", "Arkwright",
)
BUILDING_KINDS = ("Court", "House", "Mansions", "Heights", "Lodge", "Point")

# Names by origin: (weight, surnames, female forenames, male forenames). ASCII only, for the same reason
# as the street names. A household mostly shares one origin; a partner or lodger may bring another.
NAME_ORIGINS = (
    (70, (
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
        "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
        "Lewis", "Harris", "Clarke", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris",
        "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips",
        "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook",
        "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
        "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Wilkinson", "Foster", "Chapman", "Powell", "Webb",
        "Rogers", "Gray", "Mason", "Hunt", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes",
        "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon",
        "Harvey", "Graham", "Pearson", "Fletcher", "Walsh", "Gibson", "Howard", "Andrews", "Stewart", "Elliott",
        "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks", "West", "Lawrence", "Cole",
        "Atkinson", "Bradley", "Spencer", "Gill", "Dawson", "Ball", "Burton", "O'Brien", "Watts", "Rose",
        "Booth", "Perry", "Ryan", "Grant", "Wells", "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson",
        "Newman", "Barrett", "Webster", "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley", "Dunn",
        "Woods", "Parsons", "Berry", "Stone", "Reid", "Holland", "Hawkins", "Porter", "Robertson", "Newton",
        "Oliver", "Reed", "Kennedy", "Bird", "Gardner", "Dean", "Lane", "Bates", "Henderson", "Parry", "Bishop",
        "Burns", "Nicholson", "Shepherd", "Ross", "Cross", "Freeman", "Warren", "Byrne", "Sutton", "McDonald",
        "Yates", "Hodgson", "Robson", "Curtis", "Hopkins", "O'Connor", "Harper", "Coleman", "Moss", "McCarthy",
        "Chambers", "O'Neill", "Griffin", "Sharp", "Hardy", "Potter", "Osborne", "Doyle", "Wallace", "Quinn",
    ), (
        "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophie", "Grace", "Mia", "Poppy", "Ella", "Lily", "Evie",
        "Jessica", "Charlotte", "Ruby", "Chloe", "Freya", "Sarah", "Emma", "Rachel", "Claire", "Helen", "Karen",
        "Susan", "Margaret", "Patricia", "Linda", "Jean", "Joan", "Elizabeth", "Catherine", "Hannah", "Laura",
        "Rebecca", "Gemma", "Nicola", "Joanne", "Lisa", "Michelle", "Anne", "Julie", "Amanda", "Deborah",
        "Siobhan", "Niamh", "Eilidh", "Megan", "Cerys", "Louise", "Jane", "Victoria", "Kathleen",
    ), (
        "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William", "James",
        "Leo", "Alfie", "Joshua", "Daniel", "Samuel", "Benjamin", "Matthew", "Luke", "Adam", "Ryan", "Liam",
        "David", "John", "Michael", "Paul", "Andrew", "Mark", "Stephen", "Peter", "Richard", "Robert",
        "Christopher", "Gary", "Kevin", "Ian", "Graham", "Keith", "Brian", "Colin", "Derek", "Alan", "Trevor",
        "Anthony", "Sean", "Ciaran", "Callum", "Rhys", "Dylan", "Owen", "Nathan", "Jordan", "Kieran", "Edward",
    )),
    (11, (
        "Patel", "Khan", "Singh", "Ali", "Hussain", "Ahmed", "Shah", "Rahman", "Islam", "Miah", "Uddin",
        "Mahmood", "Iqbal", "Akhtar", "Sharma", "Kumar", "Mistry", "Joshi", "Chauhan", "Gill", "Sandhu",
    ), (
        "Priya", "Aisha", "Fatima", "Zainab", "Amira", "Sana", "Anjali", "Simran", "Nadia", "Ayesha", "Harpreet",
        "Sunita", "Meena", "Rukhsana", "Shabana", "Maryam", "Noor",
    ), (
        "Mohammed", "Ahmed", "Imran", "Bilal", "Omar", "Yusuf", "Arjun", "Rohan", "Sanjay", "Ravi", "Amit",
        "Harjit", "Tariq", "Zubair", "Vikram", "Ibrahim", "Hamza",
    )),
    (5, (
        "Okafor", "Mensah", "Adeyemi", "Okoye", "Asante", "Boateng", "Kamara", "Owusu", "Adebayo", "Campbell",
        "Francis", "Henry", "Thompson", "Williams",
    ), (
        "Ngozi", "Chiamaka", "Ama", "Abena", "Funmilayo", "Grace", "Blessing", "Adaeze", "Shanice", "Keisha",
    ), (
        "Chinedu", "Kwame", "Kofi", "Emeka", "Tunde", "Jamal", "Tyrone", "Femi", "Marcus", "Delroy",
    )),
    (6, (
        "Nowak", "Kowalski", "Kowalczyk", "Lewandowski", "Wojcik", "Popescu", "Ionescu", "Horvath", "Kaminski",
    ), (
        "Agnieszka", "Katarzyna", "Ioana", "Maria", "Anna", "Magdalena", "Elena", "Joanna", "Monika",
    ), (
        "Tomasz", "Piotr", "Andrei", "Marek", "Pawel", "Mihai", "Lukasz", "Krzysztof", "Adrian",
    )),
    (4, (
        "Rossi", "Da Silva", "Ferreira", "Kaya", "Romano", "Santos", "Yilmaz", "Costa", "Garcia",
    ), (
        "Giulia", "Sofia", "Ana", "Elif", "Maria", "Lucia", "Beatriz",
    ), (
        "Luca", "Marco", "Joao", "Mehmet", "Pedro", "Carlos", "Emre",
    )),
    (4, (
        "Chen", "Wong", "Nguyen", "Li", "Zhang", "Tran", "Liu", "Lam",
    ), (
        "Mei", "Lin", "Hoa", "Xin", "Jia", "Linh",
    ), (
        "Wei", "Jun", "Minh", "Hao", "Ming", "Bao",
    )),
)


def draw_origin(rng: random.Random) -> tuple:
    return rng.choices(NAME_ORIGINS, weights=[o[0] for o in NAME_ORIGINS])[0]


def draw_forename(rng: random.Random, origin: tuple, female: bool) -> str:
    # Most children of a family carry its naming tradition; some take the most common British names.
    if origin is not NAME_ORIGINS[0] and rng.random() < 0.15:
        origin = NAME_ORIGINS[0]
    return rng.choice(origin[2] if female else origin[3])


def draw_person(rng: random.Random) -> tuple[str, str]:
    """A forename and surname drawn together, for people who are not on the register."""
    origin = draw_origin(rng)
    return draw_forename(rng, origin, rng.random() < 0.5), rng.choice(origin[1])


# Ofcom's ranges reserved for drama: numbers that can never reach a real person.
MOBILE_RANGE = ("07700 900", 1000)
LANDLINE_RANGES = (
    "0113 496 0", "0114 496 0", "0115 496 0", "0116 496 0", "0117 496 0", "0118 496 0", "0121 496 0",
    "0131 496 0", "0141 496 0", "0151 496 0", "0161 496 0", "020 7946 0", "0191 498 0", "029 2018 0",
)

# Campaign code sets: (code, label, meaning, channels) for outcomes; (code, label, colour) for intentions.
OUTCOMES = (
    ("SPOKE", "Spoke to them", OutcomeMeaning.SPOKE, ["door", "phone"]),
    ("NOT_HOME", "Not home", OutcomeMeaning.NOT_HOME, ["door"]),
    ("NO_ANSWER", "No answer", OutcomeMeaning.NO_ANSWER, ["phone"]),
    ("VOICEMAIL", "Left a voicemail", OutcomeMeaning.VOICEMAIL, ["phone"]),
    ("REFUSED", "Refused to talk", OutcomeMeaning.REFUSED, ["door", "phone"]),
    ("CALL_BACK", "Call back later", OutcomeMeaning.CALL_BACK, ["door", "phone"]),
    ("MOVED", "Moved away", OutcomeMeaning.MOVED, ["door", "phone"]),
    ("DECEASED", "Deceased", OutcomeMeaning.DECEASED, ["door", "phone"]),
    ("WRONG_NUMBER", "Wrong number", OutcomeMeaning.WRONG_NUMBER, ["phone"]),
    ("DO_NOT_CONTACT", "Do not contact again", OutcomeMeaning.DO_NOT_CONTACT, ["door", "phone"]),
)
INTENTIONS = (
    ("LAB", "Labour", "#E4003B"),
    ("CON", "Conservative", "#0087DC"),
    ("LD", "Liberal Democrat", "#FAA61A"),
    ("GRN", "Green", "#02A95B"),
    ("REF", "Reform UK", "#12B6CF"),
    ("PC", "Plaid Cymru", "#005B54"),
    ("SNP", "SNP", "#FDF38E"),
    ("OTH", "Other party or independent", "#8E8E8E"),
    ("AGAINST", "Against us, party not given", "#5C5C5C"),
    ("UNDECIDED", "Undecided", "#BDBDBD"),
    ("WONT_SAY", "Won't say", "#D9D9D9"),
    ("WONT_VOTE", "Won't vote", "#757575"),
)
PARTIES = {"LAB", "CON", "LD", "GRN", "REF", "PC", "SNP", "OTH"}
# Strength says how firmly a stated party intention is held; it is not asked of the undecided.
STRENGTHS = (
    ("STRONG", "Strong: certain, will not change"),
    ("LEANING", "Leaning: likely, not certain"),
    ("SOFT", "Soft: could still change their mind"),
)
TOP_ISSUES = (
    ("cost_of_living", "Cost of living", 30), ("nhs", "NHS and social care", 22), ("housing", "Housing", 10),
    ("crime", "Crime and policing", 9), ("immigration", "Immigration", 9), ("economy", "Economy and jobs", 7),
    ("environment", "Environment and climate", 5), ("schools", "Schools", 3),
    ("local_services", "Local services (bins, roads, parks)", 4), ("other", "Something else", 1),
)
YES_NO = [{"code": "yes", "label": "Yes"}, {"code": "no", "label": "No"}]
QUESTIONS = (
    ("top_issue", "What is the most important issue for you at this election?", QuestionKind.CHOICE,
     [{"code": code, "label": label} for code, label, _ in TOP_ISSUES]),
    ("postal_vote", "Would you like help to apply for a postal vote?", QuestionKind.YES_NO, YES_NO),
    ("poster", "Would you display a poster or garden board?", QuestionKind.YES_NO, YES_NO),
    ("likelihood", "How likely are you to vote, from 1 (not at all) to 10 (certain)?", QuestionKind.SCALE,
     {"min": 1, "max": 10}),
)
CALL_SCRIPT = """\
Hello, is that [first name]? My name is [your name], and I'm a local volunteer calling about the
coming general election. Have you got a couple of minutes?

If not: no problem at all. Is there a better time to call? (Record "Call back later".)

1. When the election comes, which party do you think you'll vote for?
   If they name a party: would you say that's certain, likely, or could you still change your mind?
2. What's the most important issue for you at this election?
3. How likely are you to vote, from 1 to 10?
4. Would a postal vote be useful? We can help you apply.
5. (Our supporters only) Would you put up a poster or a garden board nearer the day?

Thank them, whatever they said: "Thanks for your time, have a good evening."
If they ask not to be called again, apologise, say you'll make sure of it, and record "Do not contact again".
Never argue, never press for an answer, and never read out anything else we hold about them.
"""
DOOR_NOTES = (
    "Dog in the front garden", "Side door, not the front", "Asked about bin collections",
    "Wants a leaflet on local buses", "Interested in volunteering", "Asked about the new housing estate",
    "Concerned about the GP surgery waiting times", "Works nights, try weekends",
)
PHONE_NOTES = (
    "Happy to be called again nearer the day", "Prefers texts", "Asked about polling station location",
    "Partner also at this number", "Interested in helping on the day",
)
