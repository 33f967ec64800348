"""Hand-written paraphrase bursts: several customers describing one outage in their own words.

Written by hand for Earshot's incident tests and benchmark (issue 18); no customer wrote them.
Each burst is one outage of one brand, told by distinct customers in varied styles: short and
long, with and without error codes, formal and slang, X posts with handles and hashtags,
Facebook/Instagram comments without a handle.

TUNING chose the clustering thresholds (triage.clustering). HELD_OUT was written after TUNING but
before any threshold was tried, and was scored once, at the end, to report the detection rate; do
not tune on it. (The last six TUNING bursts were first written as a held-out set; their
similarities were printed once in an early look, so they moved to TUNING and HELD_OUT was written
anew, unseen.)
"""

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Burst:
    kind: str
    brand: str  # a brand of ../shared/data/twcs_5000.csv, so that real traffic of it runs alongside
    texts: tuple[str, ...]


# fmt: off
TUNING = (
    Burst("login", "amazonhelp", (
        "@AmazonHelp can't log in",
        "@AmazonHelp is the app down? it keeps kicking me back to the sign in screen",
        "@AmazonHelp Good morning. Since roughly 9am I have been unable to sign in to my account on "
        "either the website or the app; my password is correct and I have already reset it twice. "
        "Could you please confirm whether there is a known problem?",
        "@AmazonHelp login broken again?? error 503 every single time ugh",
        "Trying to sign into my Amazon account and it just spins forever then says something went wrong. "
        "Anyone else?",
        "@AmazonHelp locked out of my account for no reason, the page won't accept my details",
        "@AmazonHelp yo ur sign in is busted fr, cant get into my acct #amazondown",
        "@AmazonHelp Authentication failed (503 Service Unavailable) when logging in. Please advise.",
    )),
    Burst("payments", "marksandspencer", (
        "@marksandspencer my card keeps getting declined at checkout but it works everywhere else??",
        "@marksandspencer payment failed three times on your website, order won't go through",
        "Hi M&S, I have been trying to pay for my online order for the last half an hour and the payment "
        "page just errors out after I enter my card details. My bank says nothing has been blocked. "
        "Please can you look into this?",
        "@marksandspencer checkout is broken, can't pay with any card",
        "@marksandspencer 'transaction could not be completed' every time I try to buy something online",
        "@marksandspencer ur payment thing is bust lol been trying for ages",
        "@marksandspencer Error PAY-402 at checkout with both Visa and Mastercard. Basket still full.",
        "@marksandspencer can't complete my purchase, it says payment declined but my bank says fine",
    )),
    Burst("app crash", "spotifycares", (
        "@SpotifyCares app crashes as soon as I open it",
        "@SpotifyCares since the update this morning Spotify closes itself the second it launches on my phone",
        "@SpotifyCares spotify just keeps crashing on my iphone, reinstalled twice, still crashing",
        "Hello Spotify, after the latest update the Android app force closes on the splash screen every "
        "time. I have cleared the cache and restarted my phone, with no improvement. Is a fix coming?",
        "@SpotifyCares bruh the app won't even open now 😤",
        "@SpotifyCares app instantly shuts down on launch, version 8.4.22, Galaxy S8",
        "@SpotifyCares Spotify has stopped working - that's all I get when I try to open it",
        "@SpotifyCares new update broke the app, it crashes immediately #spotify",
    )),
    Burst("delivery tracking", "amazonhelp", (
        "@AmazonHelp tracking page won't load for any of my orders",
        "@AmazonHelp where's my package? the tracking just says 'information unavailable'",
        "@AmazonHelp Your order tracking has been showing an error for hours, I can't see where any of my "
        "deliveries are. I am expecting an important parcel today and need to know when it arrives.",
        "@AmazonHelp track package button does nothing, just a blank screen",
        "@AmazonHelp tracking is broken?? can't see my delivery status at all",
        "@AmazonHelp why does every tracking link give me 'we're sorry, an error occurred'",
        "Tried tracking my Amazon delivery and the page is just empty. What's going on?",
        "@AmazonHelp delivery updates not showing in the app, map and status both gone",
    )),
    Burst("mobile network", "tmobilehelp", (
        "@TMobileHelp no signal at all",
        "@TMobileHelp my phone says SOS only, is the network down in Dallas?",
        "@TMobileHelp no service since 2pm, can't call or text anyone, this is ridiculous",
        "@TMobileHelp Hello, my line and my husband's line have both had no service for the past hour. "
        "Calls fail immediately and data is not working. Is there an outage in the 75201 area?",
        "@TMobileHelp lost all bars outta nowhere, LTE gone, can't even make a call",
        "@TMobileHelp network outage? calls keep dropping and I have zero data",
        "@TMobileHelp cell service completely dead here in north Dallas #tmobiledown",
        "@TMobileHelp can't connect to your network, phone shows 'No Service'",
    )),
    Burst("internet outage", "comcastcares", (
        "@comcastcares internet down",
        "@comcastcares my xfinity internet has been out for 2 hours, modem light blinking orange",
        "@comcastcares wifi dead again, no connection whatsoever, I work from home!!",
        "@comcastcares Good evening. Our broadband service dropped at about 6pm and has not come back. "
        "The modem has been restarted several times. Is there a known outage in Philadelphia?",
        "@comcastcares is there an outage? no internet in my whole building",
        "@comcastcares internet keeps cutting out and now it's completely gone",
        "@comcastcares paying for internet that doesn't work rn. zero connection",
        "@comcastcares modem says no signal from the line, everything offline #xfinityoutage",
    )),
    Burst("game servers", "xboxsupport", (
        "@XboxSupport xbox live down?",
        "@XboxSupport can't sign in to Xbox Live, keeps saying 0x87dd0006",
        "@XboxSupport my xbox won't connect to live, multiplayer not working at all",
        "@XboxSupport Hi, since about an hour ago I cannot sign in to my profile on Xbox One. The network "
        "test says I am connected to the internet but Xbox Live services fail. Is there an ongoing issue?",
        "@XboxSupport servers are cooked, can't get into any online game",
        "@XboxSupport error signing in, party chat and online play both down",
        "@XboxSupport getting kicked offline every few minutes and now can't log back in at all",
        "@XboxSupport xbox network is not working, says 'we couldn't sign you in'",
    )),
    Burst("booking site", "delta", (
        "@Delta website won't let me book",
        "@Delta trying to book a flight and the site just throws an error when I hit purchase",
        "@Delta your booking page is broken, I've tried 4 times and it fails at the payment step",
        "@Delta Good afternoon, I have been attempting to reserve two seats to Atlanta on delta.com for the "
        "past hour and receive 'We are unable to process your request' each time. Please advise.",
        "@Delta can't book anything on the app or website, keeps timing out",
        "@Delta ur site is down?? fares won't load and booking errors out",
        "@Delta is delta.com having issues? search works but checkout gives an error",
        "@Delta Error code 500 while completing a reservation online. Is this a known issue?",
    )),
    Burst("verification codes", "uber_support", (
        "@Uber_Support not getting the verification code",
        "@Uber_Support I've requested the SMS code 5 times and nothing arrives, can't log in",
        "@Uber_Support Hello, I am trying to sign in on a new phone but the text message with my "
        "verification code never comes through. I have checked my number is correct. Please help.",
        "@Uber_Support code never came through, stuck on the 'enter code' screen",
        "@Uber_Support where are the 4 digit codes?? app says sent but my phone gets nothing",
        "@Uber_Support can't get into my account cause the confirmation text isn't sending",
        "Uber app won't send me a code to verify my phone number, been waiting 20 mins",
        "@Uber_Support SMS verification broken? no code received, tried resend many times",
    )),
    Burst("double charge", "chipotletweets", (
        "@ChipotleTweets charged twice for one order",
        "@ChipotleTweets the app took my money two times for the same burrito bowl",
        "@ChipotleTweets I placed one online order tonight and my bank statement shows two identical "
        "charges of $11.45. I would like the duplicate refunded please.",
        "@ChipotleTweets double charged AGAIN. what is going on with your app",
        "@ChipotleTweets got billed 2x for my order, please fix",
        "@ChipotleTweets my card was hit twice for a single order today, pending charges both there",
        "Just noticed Chipotle charged my account twice for lunch. Anyone else getting duplicate charges?",
        "@ChipotleTweets duplicate payment on my order #4471, need one reversed",
    )),
    Burst("video playback", "hulu_support", (
        "@hulu_support nothing will play",
        "@hulu_support every show I click just buffers forever then says playback failure",
        "@hulu_support getting error code 3 on every video, tried roku and my laptop",
        "@hulu_support Hi, since this evening no content will play on any of our devices. Each title "
        "loads for a minute and then shows an error. Our internet connection is fine otherwise.",
        "@hulu_support hulu is broken tonight, can't watch anything",
        "@hulu_support videos won't stream, black screen and spinning wheel",
        "@hulu_support we're having trouble playing this — that's all hulu says now. fix it pls",
        "@hulu_support is hulu down? live tv and on demand both won't load",
    )),
    Burst("check-in", "americanair", (
        "@AmericanAir can't check in",
        "@AmericanAir app won't let me check in for my flight tomorrow, keeps erroring",
        "@AmericanAir online check-in is failing, says unable to complete, and my flight is at 7am",
        "@AmericanAir Good evening. I have attempted to check in for flight AA1432 on both the app and "
        "aa.com and each attempt ends with an error message. How can I obtain my boarding pass?",
        "@AmericanAir check in broken, no boarding pass, do I have to go to the counter now?",
        "@AmericanAir ur app check-in function is toast rn",
        "@AmericanAir Web check-in error: 'We're sorry, something went wrong.' Tried 5 times.",
        "@AmericanAir mobile boarding pass won't generate, check in just spins",
    )),
    Burst("store down", "askplaystation", (
        "@AskPlayStation PS store not loading",
        "@AskPlayStation can't buy anything from the playstation store, it errors at checkout",
        "@AskPlayStation PSN store says 'an error has occurred' (WS-37397-9) every time I open it",
        "@AskPlayStation Hello, the PlayStation Store has been unavailable on my PS4 for over an hour. "
        "I am unable to download a game I have already paid for. Is there a service outage?",
        "@AskPlayStation store is down again lmao can't even download my game",
        "@AskPlayStation psn down? store and downloads not working",
        "@AskPlayStation my purchases won't download and the store just shows a blank page",
        "@AskPlayStation playstation network store broken, can't access it at all #PSNdown",
    )),
    Burst("manage booking", "british_airways", (
        "@British_Airways manage my booking isn't working",
        "@British_Airways your website won't let me change my flight, just an error page",
        "@British_Airways I have been trying to select seats for my flight to New York through Manage My "
        "Booking all afternoon and it keeps failing with a technical error. Please could you help?",
        "@British_Airways ba.com 'sorry, we are experiencing technical difficulties' when I open my booking",
        "@British_Airways cant access my reservation online, page just crashes",
        "@British_Airways manage booking down? can't add bags or pick seats",
        "@British_Airways booking page broken, keeps logging me out when I try to view my trip",
        "@British_Airways unable to retrieve my booking on the app, error every time",
    )),
)

HELD_OUT = (
    Burst("password reset", "askebay", (
        "@AskeBay password reset email never arrives",
        "@AskeBay I've clicked 'forgot password' six times and got no email, not in spam either",
        "@AskeBay Hello, I am locked out and requested a password reset link this morning, but nothing "
        "has reached my inbox. I have checked the junk folder. Could you send it another way?",
        "@AskeBay reset link not coming thru, can't get back into my account",
        "@AskeBay no password reset emails?? been waiting an hour",
        "@AskeBay your reset password page says email sent but I never receive anything",
        "Can't reset my eBay password, the email with the link just doesn't come. Anyone else having this?",
        "@AskeBay forgot pw email broken, stuck outside my account rn",
    )),
    Burst("grocery orders", "tesco", (
        "@Tesco can't place my order",
        "@Tesco the app won't let me check out my grocery shop, says something went wrong",
        "@Tesco delivery slots page isn't loading so I can't finish my online order",
        "@Tesco Good evening. I have been trying to complete my weekly online shop for the last hour but "
        "the website fails at the final step every time. My order needs to be in by 11pm. Please help.",
        "@Tesco website's broken again, basket won't go through",
        "@Tesco can't book a slot or pay, just get an error page #tescofail",
        "@Tesco my online shopping order won't submit, tried the app and the site",
        "@Tesco grocery checkout keeps timing out, lost my whole basket twice",
    )),
    Burst("messages not sending", "applesupport", (
        "@AppleSupport iMessage not working",
        "@AppleSupport my texts won't send, they just sit there with 'not delivered'",
        "@AppleSupport since updating to iOS 11.1 none of my iMessages go through, red exclamation mark "
        "on every one",
        "@AppleSupport Hi, messages on my iPhone 8 fail to send to anyone since this afternoon, both "
        "iMessage and SMS. I have restarted the phone and reset network settings. Is this a known issue?",
        "@AppleSupport imessage down?? nothing sending",
        "@AppleSupport can't send messages, keeps saying waiting for activation",
        "@AppleSupport my phone won't send texts anymore, what happened",
        "@AppleSupport messages app broken, everything fails to deliver #iOS11",
    )),
    Burst("wrong bill", "verizonsupport", (
        "@VerizonSupport my bill is way too high this month",
        "@VerizonSupport I was charged $400 on autopay, my plan is $85. what is this??",
        "@VerizonSupport Hello, my latest statement shows charges I do not recognise, roughly three times "
        "my normal monthly amount, and it has already been taken from my account. Please explain.",
        "@VerizonSupport overcharged again, bill jumped for no reason",
        "@VerizonSupport why did autopay take so much money?? wrong amount on my bill",
        "@VerizonSupport billing error on my account, charged for services I don't have",
        "Verizon just drained my checking account with a bill triple what it should be. Unreal.",
        "@VerizonSupport my invoice doubled overnight, need this corrected asap",
    )),
    Burst("texts not received", "sprintcare", (
        "@sprintcare not receiving texts",
        "@sprintcare haven't gotten a single text message since yesterday, people say they're texting me",
        "@sprintcare my phone can send texts but nothing comes in, is something wrong with the network?",
        "@sprintcare Good morning. For about a day I have not received any SMS messages, including "
        "verification codes from my bank. Calls work normally. Could you check my line?",
        "@sprintcare incoming sms broken?? missing all my messages",
        "@sprintcare texts not coming through at all, this is a problem",
        "@sprintcare no incoming texts since last night, restarted phone twice",
        "@sprintcare friends' messages never arrive on my phone, what is going on",
    )),
    Burst("license error", "adobecare", (
        "@AdobeCare photoshop says my trial expired, I pay monthly",
        "@AdobeCare Creative Cloud won't open my apps, it says my subscription is not active",
        "@AdobeCare Hello, since this morning Illustrator and Photoshop both report that my license has "
        "expired, although my annual plan renewed last month. I have a deadline today.",
        "@AdobeCare licensing error, can't use any adobe apps I'm paying for",
        "@AdobeCare CC keeps asking me to sign in then says 'trial ended' ??",
        "@AdobeCare error: 'We are unable to verify your subscription', every app locked",
        "Adobe just locked me out of Photoshop claiming my subscription ran out. It didn't.",
        "@AdobeCare all my apps say unlicensed product today, fix this please",
    )),
)
# fmt: on


DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "twcs_5000.csv"


@dataclass(frozen=True)
class Tweet:
    id: str
    author: str
    brand: str | None
    text: str
    at: datetime


def twcs_inbound(path: Path = DATA) -> list[Tweet]:
    """The customers' tweets of twcs in posting order, each with the brand it was written to: the
    support account in its thread (the reply it got, or the tweet it answers), else its first
    @handle. A missing file raises: the tests and the benchmark need it."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    brands = {row["tweet_id"]: row["author_id"].lower() for row in rows if row["inbound"] == "False"}

    def brand(row: dict) -> str | None:
        linked = (row["response_tweet_id"] or "").split(",") + [(row["in_response_to_tweet_id"] or "").split(".")[0]]
        handle = re.search(r"@([A-Za-z]\w+)", row["text"])
        return next((brands[i] for i in linked if i in brands), handle.group(1).lower() if handle else None)

    tweets = [Tweet(row["tweet_id"], row["author_id"], brand(row), row["text"],
                    datetime.strptime(row["created_at"], "%a %b %d %H:%M:%S %z %Y"))
              for row in rows if row["inbound"] == "True"]  # fmt: skip
    return sorted(tweets, key=lambda tweet: (tweet.at, int(tweet.id)))
